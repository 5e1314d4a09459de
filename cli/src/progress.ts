/**
 * Progress output for long CLI work: a redrawn bar on a terminal, plain lines otherwise
 * (logs, CI), nothing under --quiet. Goes to stderr so stdout stays clean for --json.
 */
import type { WorkflowEvent } from '@scnym/core';

export interface Progress {
  update(label: string, done: number, total: number, detail?: string): void;
  done(): void;
}

export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  quiet = false,
): Progress {
  if (quiet) return { update() {}, done() {} };
  if (stream.isTTY) return new TtyBar(stream);
  return new PlainLines(stream);
}

class TtyBar implements Progress {
  private drawn = false;
  private lastDraw = 0;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(label: string, done: number, total: number, detail = ''): void {
    const now = Date.now();
    if (done < total && now - this.lastDraw < 80) return; // redraw at most ~12×/s
    this.lastDraw = now;
    const width = 28;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const line = `${label} ${bar} ${Math.round(frac * 100)
      .toString()
      .padStart(3)}% ${detail}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 100) - 1)}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

class PlainLines implements Progress {
  private lastPct = new Map<string, number>();
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(label: string, done: number, total: number, detail = ''): void {
    // One line per 10% step per label, so logs stay short.
    const pct = total > 0 ? Math.floor((100 * done) / total / 10) * 10 : 0;
    if (this.lastPct.get(label) === pct) return;
    this.lastPct.set(label, pct);
    this.stream.write(`${label}: ${pct}% ${detail}`.trimEnd() + '\n');
  }

  done(): void {
    this.lastPct.clear();
  }
}

/**
 * The one listener of core's workflow events: progress (its words and training's "epoch 15/30
 * val acc 0.800 loss 0.512" come in the events) into the bar, each stage on a line of its own;
 * warnings as `warning: …` and notices as plain lines, even under --quiet.
 */
export function reportEvents(
  progress: Progress,
  stream: NodeJS.WritableStream = process.stderr,
): (event: WorkflowEvent) => void {
  let stage: string | undefined;
  return (event) => {
    if (event.type === 'progress') {
      if (event.stage !== stage) progress.done();
      stage = event.stage;
      progress.update(event.stage, event.done, event.total, event.detail);
    } else if (event.type === 'warning' || event.type === 'notice') {
      progress.done();
      stage = undefined;
      stream.write(`${event.type === 'warning' ? 'warning: ' : ''}${event.message}\n`);
    }
    // 'training' events are for live charts; their progress arrives as progress events.
  };
}
