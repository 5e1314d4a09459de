/**
 * The run's progress under the form: a progress bar over the training steps, a line saying
 * where the run is (stage, epoch and losses, done or cancelled), the total loss per epoch as a
 * line chart, and the message line for warnings and errors.
 */
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
        this.text.textContent = `${m.stage}: ${m.done.toLocaleString('en-US')} / ${m.total.toLocaleString('en-US')}`;
        break;
      case 'start':
        this.bar.max = m.nEpochs * m.stepsPerEpoch;
        this.bar.value = 0;
        break;
      case 'progress':
        this.bar.value = m.step;
        this.text.textContent = `epoch ${m.epoch + 1}/${m.nEpochs} · loss ${m.loss.toFixed(3)}`;
        break;
      case 'epoch': {
        this.losses.push(m.losses.total);
        const acc = Number.isFinite(m.valAccuracy)
          ? ` · held-out acc ${m.valAccuracy.toFixed(3)}`
          : '';
        this.text.textContent = `epoch ${m.epoch + 1}/${m.nEpochs} · sup ${m.losses.sup.toFixed(3)} · unsup ${m.losses.unsup.toFixed(3)} · adv ${m.losses.dan.toFixed(3)}${acc}`;
        this.drawLosses();
        break;
      }
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
    const max = Math.max(...this.losses, 1e-6); // one loss per epoch
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
