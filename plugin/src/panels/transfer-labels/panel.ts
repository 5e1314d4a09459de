/**
 * The "Transfer labels" panel: a plugin on the viewer interface. Choose a reference (or a saved
 * model), click Annotate (training runs in a Web Worker), then look at the predictions, their
 * confidence and marker genes, relabel a lasso selection by hand, and Save.
 */
import type { PanelDefinition, ViewerApi } from '../../host/api.js';
import { categoryColors } from '../../host/colors.js';
import { DataClient } from '../../host/data-client.js';
import { el, svg } from '../../host/dom.js';
import {
  MAX_EMBEDDING_BYTES,
  wireArray,
  type SaveRequest,
  type SaveResponse,
  type ErrorResponse,
} from '../../shared/save-format.js';
import {
  withHint,
  type AnnotateResult,
  type ConfigChoice,
  type DatasetLocation,
  type FromWorker,
  type SaliencyRequest,
  type ToWorker,
} from '../../shared/worker-messages.js';

export interface TransferLabelsOptions {
  /** URL of the worker bundle (panels/transfer-labels/worker.ts built). */
  workerUrl: string;
  /** URL of the data-worker bundle, to list the reference's columns. */
  dataWorkerUrl: string;
  /** Absolute URL of the folder holding tfjs-backend-wasm's .wasm files. */
  wasmPaths: string;
  /** The per-run token Save sends (read from the page). */
  token: string | null;
}

const LABEL = 'scNym';
const CONFIDENCE = 'scNym_confidence';

export function transferLabelsPanel(options: TransferLabelsOptions): PanelDefinition {
  return {
    id: 'transfer-labels',
    title: 'Transfer labels',
    mount: ({ element, api }) => new TransferLabels(element, api, options).render(),
  };
}

class TransferLabels {
  private worker: Worker | null = null;
  private result: AnnotateResult | null = null;
  /** Current labels (predictions, then hand edits). */
  private labels: string[] = [];
  private categories: string[] = [];
  private edited = 0;
  private readonly config;
  private readonly el: Record<string, HTMLElement> = {};
  private losses: number[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly api: ViewerApi,
    private readonly options: TransferLabelsOptions,
  ) {
    this.config = api.data().config;
  }

  render(): void {
    const cfg = this.config;
    const source = el('select', { id: 'tl-source' });
    if (cfg.reference)
      source.append(el('option', { value: 'reference' }, [`Reference: ${cfg.reference.name}`]));
    if (cfg.model)
      source.append(el('option', { value: 'model' }, [`Saved model: ${cfg.model.name}`]));
    const labelKey = el('select', { id: 'tl-label-key' });
    const domainKey = el('select', { id: 'tl-domain-key' }, [
      el('option', { value: '' }, ['(none)']),
    ]);
    const config = el('select', { id: 'tl-config' }, [
      el('option', { value: 'no_new_identity' }, ['no_new_identity']),
      el('option', { value: 'new_identity_discovery' }, ['new_identity_discovery']),
    ]);
    // Filled with the var columns of the query and the reference by listGeneKeys().
    const geneKey = el('select', { id: 'tl-gene-key' }, [
      el('option', { value: 'auto' }, ['automatic']),
      el('option', { value: 'var_names' }, ['var_names']),
    ]);
    const epochs = el('input', {
      id: 'tl-epochs',
      type: 'number',
      min: '1',
      max: '1000',
      value: cfg.epochs ? String(cfg.epochs) : '',
      placeholder: 'preset',
    });
    const annotate = el('button', { id: 'tl-annotate', class: 'primary' }, ['Annotate']);
    const cancel = el('button', { id: 'tl-cancel', disabled: '' }, ['Cancel']);
    const progress = el('progress', { id: 'tl-progress', max: '1', value: '0' });
    const progressText = el('div', { id: 'tl-progress-text', class: 'muted small' });
    const lossChart = el('div', { id: 'tl-losses', class: 'chart' });
    const message = el('div', { id: 'tl-message', class: 'message' });
    Object.assign(this.el, {
      source,
      labelKey,
      domainKey,
      config,
      geneKey,
      epochs,
      annotate,
      cancel,
      progress,
      progressText,
      lossChart,
      message,
    });

    const setup = el('div', { class: 'form' }, [
      row('Source', source),
      row('Label column', labelKey),
      row('Domain column', domainKey),
      row('Config', config),
      row('Gene names', geneKey),
      row('Epochs', epochs),
      el('div', { class: 'buttons' }, [annotate, cancel]),
      progress,
      progressText,
      lossChart,
      message,
    ]);
    const results = el('div', { id: 'tl-results', hidden: '' }, [
      this.confidenceSection(),
      this.saliencySection(),
      this.relabelSection(),
      this.saveSection(),
    ]);
    this.el.results = results;
    this.root.replaceChildren(setup, results);

    if (!cfg.reference && !cfg.model) {
      annotate.setAttribute('disabled', '');
      message.textContent =
        'No reference or model was given: start the viewer with scnym view QUERY --reference REF (or --model DIR).';
    }
    source.onchange = () => this.sourceChanged();
    annotate.onclick = () => this.annotate();
    cancel.onclick = () => this.post({ type: 'cancel' });
    this.sourceChanged();
    void this.listGeneKeys();
  }

  /** Offers the string var columns of the query and the reference as names to match genes by. */
  private async listGeneKeys(): Promise<void> {
    const worker = new Worker(this.options.dataWorkerUrl, { type: 'module' });
    const client = new DataClient(worker);
    const names = new Set<string>();
    const datasets = [this.api.data().dataset];
    if (this.config.reference) datasets.push(this.location(this.config.reference));
    try {
      for (const d of datasets)
        for (const c of (await client.open(d)).varColumns ?? []) names.add(c);
    } catch {
      // Only automatic and var_names are offered; Annotate reports a file it cannot read.
    } finally {
      worker.terminate();
    }
    (this.el.geneKey as HTMLSelectElement).append(
      ...[...names].map((n) => el('option', { value: n }, [`var['${n}']`])),
    );
  }

  // ------------------------------------------------------------------ setup

  private async sourceChanged(): Promise<void> {
    const isModel = (this.el.source as HTMLSelectElement).value === 'model';
    for (const id of ['labelKey', 'domainKey', 'epochs', 'config']) {
      const control = this.el[id] as HTMLSelectElement;
      control.toggleAttribute('disabled', isModel && id !== 'config');
    }
    if (isModel || !this.config.reference || (this.el.labelKey as HTMLSelectElement).options.length)
      return;
    const worker = new Worker(this.options.dataWorkerUrl, { type: 'module' });
    const client = new DataClient(worker);
    try {
      const summary = await client.open(this.location(this.config.reference));
      const categorical = summary.columns.filter(
        (c) => c.kind === 'categorical' || c.kind === 'string',
      );
      const labelSelect = this.el.labelKey as HTMLSelectElement;
      labelSelect.replaceChildren(
        ...categorical.map((c) => el('option', { value: c.name }, [c.name])),
      );
      const preferred =
        this.config.labelKey ??
        ['cell_type', 'celltype', 'cell_types', 'labels'].find((n) =>
          categorical.some((c) => c.name === n),
        );
      if (preferred) labelSelect.value = preferred;
      (this.el.domainKey as HTMLSelectElement).append(
        ...categorical.map((c) => el('option', { value: c.name }, [c.name])),
      );
    } catch (err) {
      this.el.message.textContent = `cannot read the reference: ${(err as Error).message}`;
    } finally {
      worker.terminate();
    }
  }

  private location(ref: { url: string; format: 'zarr' | 'h5ad'; name: string }): DatasetLocation {
    return { url: new URL(ref.url, location.href).href, format: ref.format, name: ref.name };
  }

  private post(message: ToWorker): void {
    this.worker?.postMessage(message);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.options.workerUrl, { type: 'module' });
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onWorker(e.data);
    worker.onerror = (e) => {
      this.fail(`the training worker failed: ${e.message || 'unknown error'}`);
      this.worker?.terminate();
      this.worker = null;
    };
    this.worker = worker;
    return worker;
  }

  private annotate(): void {
    const cfg = this.config;
    const isModel = (this.el.source as HTMLSelectElement).value === 'model';
    const labelKey = (this.el.labelKey as HTMLSelectElement).value;
    if (!isModel && !labelKey)
      return this.fail('choose the reference column that holds the labels');
    const epochsText = (this.el.epochs as HTMLInputElement).value.trim();
    const epochs = epochsText ? Math.max(1, Math.floor(Number(epochsText))) : NaN;
    const domainKey = (this.el.domainKey as HTMLSelectElement).value || undefined;
    this.losses = [];
    this.el.results.hidden = true; // no saliency or save of old results while a run is going
    this.setBusy(true);
    this.el.message.textContent = '';
    this.el.progressText.textContent = 'starting…';
    (this.el.progress as HTMLProgressElement).removeAttribute('value');
    this.ensureWorker().postMessage({
      type: 'annotate',
      query: this.api.data().dataset,
      source:
        isModel && cfg.model
          ? { kind: 'model', url: new URL(cfg.model.url, location.href).href, name: cfg.model.name }
          : { kind: 'reference', dataset: this.location(cfg.reference!), labelKey, domainKey },
      geneKey: (this.el.geneKey as HTMLSelectElement).value,
      config: (this.el.config as HTMLSelectElement).value as ConfigChoice,
      epochs: Number.isFinite(epochs) ? epochs : null,
      seed: 0,
      wasmPaths: this.options.wasmPaths,
      backend: backendFromUrl(),
    } satisfies ToWorker);
  }

  private setBusy(busy: boolean): void {
    this.el.annotate.toggleAttribute('disabled', busy);
    this.el.cancel.toggleAttribute('disabled', !busy);
    document.body.dataset.annotating = busy ? 'true' : 'false';
  }

  private fail(message: string): void {
    this.setBusy(false);
    this.el.message.textContent = message;
    this.el.message.classList.add('error');
    this.api.status(message);
  }

  private onWorker(m: FromWorker): void {
    const progress = this.el.progress as HTMLProgressElement;
    switch (m.type) {
      case 'backend':
        this.backend = m.name;
        this.api.status(`TensorFlow.js backend: ${m.name}`);
        break;
      case 'stage':
        this.el.progressText.textContent = `${m.stage}: ${m.done.toLocaleString('en-US')} / ${m.total.toLocaleString('en-US')}`;
        break;
      case 'start':
        progress.max = m.nEpochs * m.stepsPerEpoch;
        progress.value = 0;
        break;
      case 'progress':
        progress.value = m.step;
        this.el.progressText.textContent = `epoch ${m.epoch + 1}/${m.nEpochs} · loss ${m.loss.toFixed(3)}`;
        break;
      case 'epoch': {
        this.losses.push(m.losses.total);
        const acc = Number.isFinite(m.valAccuracy)
          ? ` · held-out acc ${m.valAccuracy.toFixed(3)}`
          : '';
        this.el.progressText.textContent = `epoch ${m.epoch + 1}/${m.nEpochs} · sup ${m.losses.sup.toFixed(3)} · unsup ${m.losses.unsup.toFixed(3)} · adv ${m.losses.dan.toFixed(3)}${acc}`;
        this.drawLosses();
        break;
      }
      case 'warning':
        this.el.message.textContent = `warning: ${m.message}`;
        break;
      case 'result':
        void this.showResult(m);
        break;
      case 'saliency':
        this.drawSaliency(m.genes, m.scores, `${m.className} · ${m.method} · ${m.nCells} cells`);
        break;
      case 'cancelled':
        this.setBusy(false);
        this.el.progressText.textContent = 'cancelled';
        progress.value = 0;
        break;
      case 'error':
        this.fail(withHint(m.message, m.hint));
        break;
    }
  }

  private backend = '';

  private drawLosses(): void {
    const w = 260;
    const h = 60;
    const max = Math.max(...this.losses, 1e-6);
    const pts = this.losses
      .map((l, i) => `${(i / Math.max(1, this.losses.length - 1)) * w},${h - (l / max) * (h - 4)}`)
      .join(' ');
    this.el.lossChart.replaceChildren(
      svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}` }, [
        svg('polyline', { points: pts, fill: 'none', stroke: '#3a6ea5', 'stroke-width': 1.5 }),
      ]),
    );
  }

  private async showResult(m: AnnotateResult): Promise<void> {
    this.result = m;
    this.labels = [...m.labels];
    this.categories = [...m.classNames];
    if (this.labels.includes('Unknown') && !this.categories.includes('Unknown'))
      this.categories.push('Unknown');
    this.edited = 0;
    this.setBusy(false);
    (this.el.progress as HTMLProgressElement).value = (this.el.progress as HTMLProgressElement).max;
    this.el.progressText.textContent = `done in ${m.seconds.toFixed(1)} s on ${m.backend}`;
    document.body.dataset.annotated = 'true';
    document.body.dataset.backend = m.backend;
    document.body.dataset.annotateSeconds = m.seconds.toFixed(1);
    this.publishLabels();
    this.api.addObsColumn(CONFIDENCE, { kind: 'numeric', values: m.confidence, range: [0, 1] });
    await this.api.colorBy(LABEL);
    this.el.results.hidden = false;
    const classSelect = this.el.saliencyClass as HTMLSelectElement;
    classSelect.replaceChildren(...m.classNames.map((c) => el('option', { value: c }, [c])));
    (this.el.relabelOptions as HTMLDataListElement).replaceChildren(
      ...m.classNames.map((c) => el('option', { value: c })),
    );
    this.drawHistogram();
    this.api.status(
      `annotated ${m.labels.length.toLocaleString('en-US')} cells in ${m.seconds.toFixed(1)} s (${m.backend})`,
    );
  }

  private publishLabels(): void {
    this.api.addObsColumn(LABEL, {
      kind: 'categorical',
      values: this.labels,
      categories: this.categories,
      colors: categoryColors(this.categories),
    });
  }

  // ------------------------------------------------------------------ confidence

  private confidenceSection(): HTMLElement {
    const colour = el('button', { id: 'tl-colour-confidence' }, ['Colour by confidence']);
    const colourLabel = el('button', { id: 'tl-colour-label' }, ['Colour by prediction']);
    const threshold = el('input', {
      id: 'tl-threshold',
      type: 'number',
      min: '0',
      max: '1',
      step: '0.05',
      value: '0.7',
    });
    const selectLow = el('button', { id: 'tl-select-low' }, ['Highlight low-confidence cells']);
    const histogram = el('div', { id: 'tl-histogram', class: 'chart' });
    this.el.threshold = threshold;
    this.el.histogram = histogram;
    colour.onclick = () => void this.api.colorBy(CONFIDENCE);
    colourLabel.onclick = () => void this.api.colorBy(LABEL);
    threshold.oninput = () => this.drawHistogram();
    selectLow.onclick = () => {
      if (!this.result) return;
      const t = Number(threshold.value);
      const cells: number[] = [];
      this.result.confidence.forEach((c, i) => {
        if (c < t) cells.push(i);
      });
      this.api.setSelection(cells);
      this.api.status(`${cells.length} cells below confidence ${t}`);
    };
    return el('div', { class: 'section' }, [
      el('h3', {}, ['Confidence']),
      el('div', { class: 'buttons' }, [colourLabel, colour]),
      histogram,
      el('div', { class: 'buttons' }, [el('label', {}, ['below ', threshold]), selectLow]),
    ]);
  }

  private drawHistogram(): void {
    if (!this.result) return;
    const bins = new Array(20).fill(0);
    for (const c of this.result.confidence) bins[Math.min(19, Math.floor(c * 20))]++;
    const max = Math.max(...bins, 1);
    const w = 260;
    const h = 80;
    const t = Number((this.el.threshold as HTMLInputElement).value);
    const bars = bins.map((b, i) =>
      svg(
        'rect',
        {
          x: (i * w) / 20 + 0.5,
          y: h - 14 - (b / max) * (h - 18),
          width: w / 20 - 1,
          height: (b / max) * (h - 18),
          fill: (i + 1) / 20 <= t ? '#d62728' : '#3a6ea5',
        },
        [svg('title', {}, [`${(i / 20).toFixed(2)}–${((i + 1) / 20).toFixed(2)}: ${b} cells`])],
      ),
    );
    this.el.histogram.replaceChildren(
      svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}` }, [
        ...bars,
        svg('text', { x: 0, y: h - 2, 'font-size': 10 }, ['0']),
        svg('text', { x: w - 8, y: h - 2, 'font-size': 10 }, ['1']),
        svg('text', { x: w / 2 - 30, y: h - 2, 'font-size': 10 }, ['confidence']),
      ]),
    );
  }

  // ------------------------------------------------------------------ saliency

  private saliencySection(): HTMLElement {
    const cls = el('select', { id: 'tl-saliency-class' });
    const method = el('select', { id: 'tl-saliency-method' }, [
      el('option', { value: 'gradient' }, ['gradient']),
      el('option', { value: 'integrated' }, ['integrated gradients']),
      el('option', { value: 'expected' }, ['expected gradients']),
    ]);
    const useSelection = el('input', { id: 'tl-saliency-selection', type: 'checkbox' });
    const show = el('button', { id: 'tl-saliency-run' }, ['Show marker genes']);
    const chart = el('div', { id: 'tl-saliency-chart', class: 'chart' });
    this.el.saliencyClass = cls;
    this.el.saliencyChart = chart;
    show.onclick = () => {
      const cells = useSelection.checked ? this.api.selection() : [];
      chart.textContent = 'computing…';
      this.post({
        type: 'saliency',
        className: cls.value,
        cells,
        method: method.value as SaliencyRequest['method'],
        top: 15,
      });
    };
    return el('div', { class: 'section' }, [
      el('h3', {}, ['Marker genes']),
      row('Class', cls),
      row('Method', method),
      el('label', { class: 'small' }, [useSelection, ' use the lasso selection']),
      el('div', { class: 'buttons' }, [show]),
      chart,
    ]);
  }

  private drawSaliency(genes: string[], scores: number[], caption: string): void {
    const w = 260;
    const barH = 14;
    const h = genes.length * barH + 4;
    const max = Math.max(...scores.map(Math.abs), 1e-12);
    const labelW = 80;
    const items = genes.flatMap((g, i) => [
      svg('text', { x: labelW - 4, y: i * barH + 11, 'font-size': 10, 'text-anchor': 'end' }, [g]),
      svg(
        'rect',
        {
          x: labelW,
          y: i * barH + 2,
          width: Math.max(1, (Math.abs(scores[i]) / max) * (w - labelW - 4)),
          height: barH - 3,
          fill: scores[i] >= 0 ? '#3a6ea5' : '#d62728',
          class: 'saliency-bar',
          'data-gene': g,
        },
        [svg('title', {}, [`${g}: ${scores[i].toPrecision(3)}`])],
      ),
    ]);
    this.el.saliencyChart.replaceChildren(
      el('div', { class: 'small muted' }, [caption]),
      svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, id: 'tl-saliency-svg' }, items),
    );
  }

  // ------------------------------------------------------------------ relabel

  private relabelSection(): HTMLElement {
    const input = el('input', {
      id: 'tl-relabel-name',
      list: 'tl-relabel-options',
      placeholder: 'label',
    });
    const options = el('datalist', { id: 'tl-relabel-options' });
    const apply = el('button', { id: 'tl-relabel-apply' }, ['Relabel selection']);
    const info = el('div', { id: 'tl-relabel-info', class: 'small muted' });
    this.el.relabelOptions = options;
    apply.onclick = () => {
      const name = input.value.trim();
      const cells = this.api.selection();
      if (!name || cells.length === 0) {
        info.textContent = 'lasso some cells and type a label first';
        return;
      }
      if (!this.categories.includes(name)) this.categories.push(name);
      for (const c of cells) this.labels[c] = name;
      this.edited += cells.length;
      this.publishLabels();
      void this.api.colorBy(LABEL).then(() => {
        info.textContent = `${cells.length} cells relabelled '${name}' (${this.edited} edits in all)`;
      });
    };
    return el('div', { class: 'section' }, [
      el('h3', {}, ['Relabel by hand']),
      el('div', { class: 'buttons' }, [input, options, apply]),
      info,
    ]);
  }

  // ------------------------------------------------------------------ save

  private saveSection(): HTMLElement {
    const writable = this.config.query.writable && this.options.token;
    const save = el('button', { id: 'tl-save', class: 'primary' }, [
      writable ? `Save into ${this.config.query.name}` : 'Download predictions (CSV)',
    ]);
    const info = el('div', { id: 'tl-save-info', class: 'small muted' });
    save.onclick = () => void (writable ? this.save(info) : this.download(info));
    return el('div', { class: 'section' }, [el('h3', {}, ['Save']), save, info]);
  }

  /** The worker's annotations, with the label column and colours rebuilt from the edits. */
  private saveBody(): SaveRequest {
    const m = this.result!;
    const index = new Map(this.categories.map((c, i) => [c, i]));
    const codes = Int32Array.from(this.labels, (l) => index.get(l) ?? -1);
    const body: SaveRequest = structuredClone(m.save);
    body.obs![LABEL] = {
      kind: 'categorical',
      codes: wireArray(codes),
      categories: this.categories,
    };
    body.uns = { ...body.uns, scNym_colors: categoryColors(this.categories) };
    const emb = body.obsm?.['X_scnym'];
    if (emb && emb.shape[0] * emb.shape[1] * 4 > MAX_EMBEDDING_BYTES) delete body.obsm!['X_scnym'];
    return body;
  }

  private async save(info: HTMLElement): Promise<void> {
    if (!this.result) return;
    info.textContent = 'saving…';
    try {
      const response = await fetch('/api/save', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-scnym-token': this.options.token ?? '' },
        body: JSON.stringify(this.saveBody()),
      });
      const reply = (await response.json()) as SaveResponse | ErrorResponse;
      if (!reply.ok) throw new Error(withHint(reply.error, reply.hint));
      info.textContent = `saved ${reply.written.join(', ')}`;
      document.body.dataset.saved = 'true';
    } catch (err) {
      info.textContent = `save failed: ${(err as Error).message}`;
      info.classList.add('error');
    }
  }

  private async download(info: HTMLElement): Promise<void> {
    if (!this.result) return;
    const names = await this.api.data().obsNames();
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const lines = ['obs_names,scNym,scNym_confidence'];
    for (let i = 0; i < this.labels.length; i++) {
      lines.push(`${quote(names[i])},${quote(this.labels[i])},${this.result.confidence[i]}`);
    }
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }));
    const a = el('a', { href: url, download: `${this.config.query.name}.scNym.csv` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    info.textContent = 'downloaded the predictions as CSV';
  }
}

/** `?backend=webgl|wasm|cpu` in the page URL forces a TF.js backend (default: auto). */
function backendFromUrl(): 'auto' | 'webgl' | 'wasm' | 'cpu' {
  const b = new URLSearchParams(location.search).get('backend');
  return b === 'webgl' || b === 'wasm' || b === 'cpu' ? b : 'auto';
}

function row(label: string, control: HTMLElement): HTMLElement {
  return el('label', { class: 'row' }, [el('span', {}, [label]), control]);
}
