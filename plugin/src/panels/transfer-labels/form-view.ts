/**
 * The panel's form: where the labels come from (a reference with its label and domain columns,
 * or a saved model), the config, the names genes are matched by, epochs, and the Annotate and
 * Cancel buttons. It lists the reference's obs columns and the var columns itself, each through
 * a data worker of its own.
 */
import { DataClient } from '../../host/data-client.js';
import type { DatasetRef, ViewerConfig } from '../../shared/config.js';
import type {
  AnnotateRequest,
  ConfigChoice,
  DatasetLocation,
} from '../../shared/worker-messages.js';
import { el } from '../../ui/dom.js';
import { HELP } from './help.js';
import { CONFIG_DESCRIPTIONS, likelyLabelColumn } from '@scnym/core/vocabulary';

/** The form's part of an annotate request. */
export type FormChoice = Pick<AnnotateRequest, 'source' | 'geneKey' | 'config' | 'epochs'>;

export class FormView {
  private readonly source = el('select', { id: 'tl-source' });
  private readonly labelKey = el('select', { id: 'tl-label-key' });
  private readonly domainKey = el('select', { id: 'tl-domain-key' }, [
    el('option', { value: '' }, ['(none)']),
  ]);
  private readonly config = el(
    'select',
    { id: 'tl-config' },
    (['no_new_identity', 'new_identity_discovery'] as const).map((c) =>
      el('option', { value: c, title: CONFIG_DESCRIPTIONS[c] }, [c]),
    ),
  );
  // Filled with the var columns of the query and the reference by listGeneKeys().
  private readonly geneKey = el('select', { id: 'tl-gene-key' }, [
    el('option', { value: 'auto' }, ['automatic']),
    el('option', { value: 'var_names' }, ['var_names']),
  ]);
  private readonly epochs: HTMLInputElement;
  private readonly annotate = el('button', { id: 'tl-annotate', class: 'primary' }, ['Annotate']);
  private readonly cancel = el('button', { id: 'tl-cancel', disabled: '' }, ['Cancel']);

  /** `say` shows a message under the form. */
  constructor(
    private readonly viewer: ViewerConfig,
    private readonly query: DatasetLocation,
    private readonly dataWorkerUrl: string,
    private readonly say: (message: string) => void,
  ) {
    if (viewer.reference)
      this.source.append(
        el('option', { value: 'reference' }, [`Reference: ${viewer.reference.name}`]),
      );
    if (viewer.model)
      this.source.append(el('option', { value: 'model' }, [`Saved model: ${viewer.model.name}`]));
    this.epochs = el('input', {
      id: 'tl-epochs',
      type: 'number',
      min: '1',
      max: '1000',
      value: viewer.epochs ? String(viewer.epochs) : '',
      placeholder: 'preset',
    });
  }

  /** The labelled controls and the buttons. */
  elements(): HTMLElement[] {
    return [
      row('Source', this.source),
      row('Label column', this.labelKey),
      row('Domain column', this.domainKey),
      row('Config', this.config),
      row('Gene names', this.geneKey),
      row('Epochs', this.epochs),
      el('div', { class: 'buttons' }, [this.annotate, this.cancel]),
    ];
  }

  /** Wires the buttons and fills the column choosers (once the form is in the page). */
  start(actions: { annotate(): void; cancel(): void }): void {
    if (!this.viewer.reference && !this.viewer.model) {
      this.annotate.setAttribute('disabled', '');
      this.say(
        'No reference or model was given: start the viewer with scnym view QUERY --reference REF (or --model DIR).',
      );
    }
    this.source.onchange = () => this.sourceChanged();
    this.annotate.onclick = () => actions.annotate();
    this.cancel.onclick = () => actions.cancel();
    void this.sourceChanged();
    void this.listGeneKeys();
  }

  setBusy(busy: boolean): void {
    this.annotate.toggleAttribute('disabled', busy);
    this.cancel.toggleAttribute('disabled', !busy);
  }

  /** What the form asks for, or what is missing. */
  choice(): FormChoice | { missing: string } {
    const model = this.viewer.model;
    const isModel = this.source.value === 'model';
    const labelKey = this.labelKey.value;
    if (!isModel && !labelKey)
      return { missing: 'choose the reference column that holds the labels' };
    const epochsText = this.epochs.value.trim();
    const epochs = epochsText ? Math.max(1, Math.floor(Number(epochsText))) : NaN;
    const domainKey = this.domainKey.value || undefined;
    return {
      source:
        isModel && model
          ? { kind: 'model', url: new URL(model.url, location.href).href, name: model.name }
          : { kind: 'reference', dataset: locate(this.viewer.reference!), labelKey, domainKey },
      geneKey: this.geneKey.value,
      config: this.config.value as ConfigChoice,
      epochs: Number.isFinite(epochs) ? epochs : null,
    };
  }

  /** A model brings its own columns and epochs; a reference's columns are listed once. */
  private async sourceChanged(): Promise<void> {
    const isModel = this.source.value === 'model';
    for (const control of [this.labelKey, this.domainKey, this.epochs])
      control.toggleAttribute('disabled', isModel);
    const reference = this.viewer.reference;
    if (isModel || !reference || this.labelKey.options.length) return;
    const worker = new Worker(this.dataWorkerUrl, { type: 'module' });
    const client = new DataClient(worker);
    try {
      const summary = await client.open(locate(reference));
      const categorical = summary.columns.filter(
        (c) => c.kind === 'categorical' || c.kind === 'string',
      );
      this.labelKey.replaceChildren(
        ...categorical.map((c) => el('option', { value: c.name }, [c.name])),
      );
      // The server's suggestion, else the column that most likely holds cell types.
      const preferred = this.viewer.labelKey ?? likelyLabelColumn(categorical)?.name;
      if (preferred) this.labelKey.value = preferred;
      this.domainKey.append(...categorical.map((c) => el('option', { value: c.name }, [c.name])));
    } catch (err) {
      this.say(`cannot read the reference: ${(err as Error).message}`);
    } finally {
      worker.terminate();
    }
  }

  /** Offers the string var columns of the query and the reference as names to match genes by. */
  private async listGeneKeys(): Promise<void> {
    const worker = new Worker(this.dataWorkerUrl, { type: 'module' });
    const client = new DataClient(worker);
    const names = new Set<string>();
    const datasets = [this.query];
    if (this.viewer.reference) datasets.push(locate(this.viewer.reference));
    try {
      for (const d of datasets)
        for (const c of (await client.open(d)).varColumns ?? []) names.add(c);
    } catch {
      // Only automatic and var_names are offered; Annotate reports a file it cannot read.
    } finally {
      worker.terminate();
    }
    this.geneKey.append(...[...names].map((n) => el('option', { value: n }, [`var['${n}']`])));
  }
}

/** A labelled control of the panel's forms, with the term's help as its tooltip. */
export function row(label: string, control: HTMLElement): HTMLElement {
  return el('label', { class: 'row', title: HELP[label] }, [el('span', {}, [label]), control]);
}

/** A dataset the server offers, with an absolute URL for the workers. */
function locate(ref: DatasetRef): DatasetLocation {
  return { url: new URL(ref.url, location.href).href, format: ref.format, name: ref.name };
}
