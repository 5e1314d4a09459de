/**
 * The run's progress under the form: a progress bar over the training steps, a line saying
 * where the run is (stage, epoch and losses, done or cancelled), the total loss per epoch as a
 * line chart, and the message line for warnings and errors.
 */
import { describeProgress } from '@scnym/core/vocabulary';
import type { FromWorker } from '../../shared/worker-messages.js';
import { ACCENT } from '../../ui/colors.js';
import { el, svg } from '../../ui/dom.js';

/** The worker's messages about a run's progress. */
export type ProgressEvent = Extract<FromWorker, { type: 'stage' | 'start' | 'progress' | 'epoch' }>;

const LOSS_CHART = { width: 260, height: 60 };

export class ProgressView {
  private readonly bar = el('progress', { id: 'tl-progress', max: '1', value: '0' });
  private readonly text = el('div', { id: 'tl-progress-text', class: 'muted small' });
  private readonly lossChart = el('div', { id: 'tl-losses', class: 'chart' });
  private readonly message = el('div', { id: 'tl-message', class: 'message' });
  private losses: number[] = [];

  elements(): HTMLElement[] {
    return [this.bar, this.text, this.lossChart, this.message];
  }

  /** A run starts: no message, an indeterminate bar. */
  starting(): void {
    this.losses = [];
    this.message.textContent = '';
    this.text.textContent = 'starting…';
    this.bar.removeAttribute('value');
  }

  show(m: ProgressEvent): void {
    switch (m.type) {
      case 'stage':
        // The words every front end uses ("training: epoch 3/30 val acc 0.812 loss 0.431").
        this.text.textContent = describeProgress(m).message;
        break;
      case 'start':
        this.bar.max = m.nEpochs * m.stepsPerEpoch;
        this.bar.value = 0;
        break;
      case 'progress':
        this.bar.value = m.step;
        break;
      case 'epoch':
        this.losses.push(m.losses.total);
        this.drawLosses();
        break;
    }
  }

  done(seconds: number, backend: string): void {
    this.bar.value = this.bar.max;
    this.text.textContent = `done in ${seconds.toFixed(1)} s on ${backend}`;
  }

  cancelled(): void {
    this.text.textContent = 'cancelled';
    this.bar.value = 0;
  }

  say(message: string): void {
    this.message.textContent = message;
  }

  /** An error stays marked as one (red) from then on. */
  error(message: string): void {
    this.message.textContent = message;
    this.message.classList.add('error');
  }

  private drawLosses(): void {
    const { width: w, height: h } = LOSS_CHART;
    const max = this.losses.reduce((a, b) => Math.max(a, b), 1e-6);
    const pts = this.losses
      .map((l, i) => `${(i / Math.max(1, this.losses.length - 1)) * w},${h - (l / max) * (h - 4)}`)
      .join(' ');
    this.lossChart.replaceChildren(
      svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}` }, [
        svg('polyline', { points: pts, fill: 'none', stroke: ACCENT, 'stroke-width': 1.5 }),
      ]),
    );
  }
}
