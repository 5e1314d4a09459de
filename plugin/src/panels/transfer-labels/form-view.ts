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
import { PickView, type PickedSource } from './pick-view.js';

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
  /** Sources picked in the page, by their option's value. */
  private readonly picked = new Map<string, PickedSource>();
  private readonly pick: PickView;
  /** The source whose columns the label and domain choosers list. */
  private listed: string | null = null;
  private busy = false;

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
    this.pick = new PickView((source) => this.addPicked(source), say);
  }

  /** The labelled controls and the buttons. */
  elements(): HTMLElement[] {
    return [
      row('Source', this.source),
      this.pick.element,
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
        'No reference or model was given: choose or drop one above (or start the viewer with scnym view QUERY --reference REF, or --model DIR).',
      );
    }
    this.source.onchange = () => this.sourceChanged();
    this.annotate.onclick = () => actions.annotate();
    this.cancel.onclick = () => actions.cancel();
    void this.sourceChanged();
    void this.listGeneKeys();
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.annotate.toggleAttribute('disabled', busy || !this.source.options.length);
    this.cancel.toggleAttribute('disabled', !busy);
  }

  /** What the form asks for, or what is missing. */
  choice(): FormChoice | { missing: string } {
    const model = this.viewer.model;
    const picked = this.picked.get(this.source.value);
    const isModel = this.source.value === 'model' || picked?.kind === 'model';
    const labelKey = this.labelKey.value;
    if (!isModel && !labelKey)
      return { missing: 'choose the reference column that holds the labels' };
    const epochsText = this.epochs.value.trim();
    const epochs = epochsText ? Math.max(1, Math.floor(Number(epochsText))) : NaN;
    const domainKey = this.domainKey.value || undefined;
    return {
      source:
        picked?.kind === 'model'
          ? { kind: 'model', url: picked.name, name: picked.name, files: picked.files }
          : picked
            ? { kind: 'reference', dataset: picked.dataset, labelKey, domainKey }
            : isModel && model
              ? { kind: 'model', url: new URL(model.url, location.href).href, name: model.name }
              : { kind: 'reference', dataset: locate(this.viewer.reference!), labelKey, domainKey },
      geneKey: this.geneKey.value,
      config: this.config.value as ConfigChoice,
      epochs: Number.isFinite(epochs) ? epochs : null,
    };
  }

  /** Offers a picked reference or model as the source, and chooses it. */
  private addPicked(source: PickedSource): void {
    const value = `picked-${this.picked.size + 1}`;
    this.picked.set(value, source);
    const text =
      source.kind === 'model'
        ? `Saved model: ${source.name} (picked)`
        : `Reference: ${source.dataset.name} (picked)`;
    this.source.append(el('option', { value }, [text]));
    this.source.value = value;
    this.setBusy(this.busy);
    this.say(`${text.replace(' (picked)', '')}: read in this page`);
    void this.sourceChanged();
  }

  /** A model brings its own columns and epochs; a reference's columns are listed when chosen. */
  private async sourceChanged(): Promise<void> {
    const picked = this.picked.get(this.source.value);
    const isModel = this.source.value === 'model' || picked?.kind === 'model';
    for (const control of [this.labelKey, this.domainKey, this.epochs])
      control.toggleAttribute('disabled', isModel);
    const reference =
      picked?.kind === 'reference'
        ? picked.dataset
        : this.viewer.reference && locate(this.viewer.reference);
    if (isModel || !reference || this.listed === this.source.value) return;
    this.listed = this.source.value;
    this.labelKey.replaceChildren();
    this.domainKey.replaceChildren(el('option', { value: '' }, ['(none)']));
    const worker = new Worker(this.dataWorkerUrl, { type: 'module' });
    const client = new DataClient(worker);
    try {
      const summary = await client.open(reference);
      const categorical = summary.columns.filter(
        (c) => c.kind === 'categorical' || c.kind === 'string',
      );
      this.labelKey.replaceChildren(
        ...categorical.map((c) => el('option', { value: c.name }, [c.name])),
      );
      // The server's suggestion, else the column that most likely holds cell types.
      const suggested = picked ? undefined : this.viewer.labelKey;
      const preferred = suggested ?? likelyLabelColumn(categorical)?.name;
      if (preferred) this.labelKey.value = preferred;
      this.domainKey.append(...categorical.map((c) => el('option', { value: c.name }, [c.name])));
      if (picked) this.offerGeneKeys(summary.varColumns ?? []);
    } catch (err) {
      this.listed = null;
      this.say(`cannot read the reference ${reference.name}: ${(err as Error).message}`);
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
    this.offerGeneKeys([...names]);
  }

  /** Adds var columns to the gene-name chooser (a picked reference brings its own). */
  private offerGeneKeys(names: string[]): void {
    const offered = new Set([...this.geneKey.options].map((o) => o.value));
    const added = names.filter((n) => !offered.has(n));
    this.geneKey.append(...added.map((n) => el('option', { value: n }, [`var['${n}']`])));
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
