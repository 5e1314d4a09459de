/**
 * The Save section: into the query (the server writes obs, obsm and uns, with the hand edits)
 * when it may write there, else a CSV download of the labels and confidences.
 */
import type { ViewerApi } from '../../host/api.js';
import type { ViewerConfig } from '../../shared/config.js';
import { markersRecord, type ClassMarkers } from '../../shared/markers-record.js';
import {
  embeddingFits,
  toBase64,
  wireArray,
  type ErrorResponse,
  type SaveRequest,
  type SaveResponse,
} from '../../shared/save-format.js';
import { withHint, type AnnotateResult } from '../../shared/worker-messages.js';
import { categoryColors } from '../../ui/colors.js';
import { el } from '../../ui/dom.js';
import { CONFIDENCE, EMBEDDING, LABEL, MARKERS } from './keys.js';
import type { LabelEdits } from './label-edits.js';

/** The annotation as it stands: the worker's result and the labels after the hand edits. */
export interface Annotation {
  result: AnnotateResult;
  labels: LabelEdits;
  /** The markers shown per class (uns scNym_markers). */
  markers: ClassMarkers[];
  /** The model that made the predictions, as core's files (written beside the dataset). */
  modelFiles: () => Promise<Record<string, Uint8Array> | null>;
}

export class SaveView {
  readonly element: HTMLElement;

  constructor(
    private readonly api: ViewerApi,
    private readonly config: ViewerConfig,
    private readonly token: string | null,
    private readonly current: () => Annotation | null,
  ) {
    const writable = config.query.writable && token;
    const save = el('button', { id: 'tl-save', class: 'primary' }, [
      writable ? `Save into ${config.query.name}` : 'Download predictions (CSV)',
    ]);
    const info = el('div', { id: 'tl-save-info', class: 'small muted' });
    save.onclick = () => void (writable ? this.save(info) : this.download(info));
    // Saving into the file does not rule out a CSV of the labels (for a spreadsheet, R, …).
    const csv = el('button', { id: 'tl-download-csv' }, ['Download labels (CSV)']);
    csv.onclick = () => void this.download(info);
    this.element = el('div', { class: 'section' }, [
      el('h3', {}, ['Save']),
      el('div', { class: 'buttons' }, writable ? [save, csv] : [save]),
      info,
    ]);
  }

  private async save(info: HTMLElement): Promise<void> {
    const annotation = this.current();
    if (!annotation) return;
    info.textContent = 'saving…';
    try {
      const body = saveBody(annotation, (names) =>
        this.api.labelColors ? this.api.labelColors(names) : categoryColors(names),
      );
      const files = await annotation.modelFiles();
      if (files) body.model = { files: wireFiles(files) };
      const response = await fetch('/api/save', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-scnym-token': this.token ?? '' },
        body: JSON.stringify(body),
      });
      const reply = (await response.json()) as SaveResponse | ErrorResponse;
      if (!reply.ok) throw new Error(withHint(reply.error, reply.hint));
      annotation.labels.markSaved();
      const model = reply.model;
      const where = !model
        ? ''
        : model.where === 'beside'
          ? `; the model in ${model.path}`
          : `; ${model.reason ?? 'the model was not saved'}`;
      info.textContent = `saved ${reply.written.join(', ')}${where}`;
      document.body.dataset.saved = 'true';
    } catch (err) {
      info.textContent = `save failed: ${(err as Error).message}`;
      info.classList.add('error');
    }
  }

  private async download(info: HTMLElement): Promise<void> {
    const annotation = this.current();
    if (!annotation) return;
    const { result } = annotation;
    const { codes, categories } = annotation.labels;
    const names = await this.api.data().obsNames();
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const labels = categories.map(quote);
    const lines = [`obs_names,${LABEL},${CONFIDENCE}`];
    for (let i = 0; i < codes.length; i++) {
      lines.push(`${quote(names[i])},${labels[codes[i]] ?? ''},${result.confidence[i]}`);
    }
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }));
    const a = el('a', { href: url, download: `${this.config.query.name}.${LABEL}.csv` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    info.textContent = 'downloaded the predictions as CSV';
  }
}

function wireFiles(files: Record<string, Uint8Array>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, toBase64(bytes)]));
}

/**
 * The worker's annotations, with the label column and its colours (as shown) rebuilt from the edits; the
 * categories no cell holds any more (relabelled or renamed away) are dropped.
 */
function saveBody(
  annotation: Annotation,
  colorsOf: (names: readonly string[]) => string[],
): SaveRequest {
  const { result, labels } = annotation;
  const { codes, categories } = labels.compact();
  const body: SaveRequest = structuredClone(result.save);
  body.obs![LABEL] = {
    kind: 'categorical',
    codes: wireArray(codes),
    categories: [...categories],
  };
  body.uns = { ...body.uns, [`${LABEL}_colors`]: colorsOf(categories) };
  const markers = markersRecord(annotation.markers);
  if (markers) body.uns[MARKERS] = { ...markers };
  const emb = body.obsm?.[EMBEDDING];
  if (emb && !embeddingFits(emb.shape[0], emb.shape[1])) delete body.obsm![EMBEDDING];
  return body;
}
