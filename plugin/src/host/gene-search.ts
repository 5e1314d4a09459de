/**
 * Colour by a gene: the server's gene reads (shared/genes.ts: names, build progress, one gene's
 * values) and the search box in the top bar (autocomplete over every naming the matrix has:
 * var_names and its string var columns such as feature_name; log1p(CPM) or raw values).
 */
import { GENE_VALUES_LABEL, type GeneStatus, type GeneValues } from '../shared/genes.js';
import { el } from '../ui/dom.js';

/** Suggestions shown under the search box. */
const SUGGESTIONS = 20;
const POLL_MS = 500;

/**
 * Where genes are read other than from a server (the VS Code viewer asks its extension host):
 * the same answers as `GET /api/genes` and `GET /api/genes/<index>`.
 */
export interface GeneReads {
  status(): Promise<GeneStatus>;
  values(index: number, kind: GeneValues): Promise<Float32Array>;
}

/** The server's gene reads (or another GeneReads), with a name index over every naming. */
export class GeneSource {
  private index: Map<string, number> | null = null;
  /** Lower-case name → the name as the file spells it. */
  private folded = new Map<string, string>();
  /** Distinct names, for suggestions. */
  private names: string[] = [];
  private loading: Promise<void> | null = null;

  constructor(private readonly url: string | GeneReads = '/api/genes') {}

  /** Waits for the server's gene cache (reporting its build), then indexes the names. */
  ready(onStatus: (s: GeneStatus) => void): Promise<void> {
    this.loading ??= this.load(onStatus);
    this.loading.catch(() => (this.loading = null));
    return this.loading;
  }

  /**
   * The gene's index in the matrix and its name as the file spells it: an exact name of any
   * naming, else the same ignoring case.
   */
  find(name: string): { index: number; name: string } | undefined {
    const typed = name.trim();
    const spelt = this.index?.has(typed) ? typed : this.folded.get(typed.toLowerCase());
    const index = spelt === undefined ? undefined : this.index?.get(spelt);
    return index === undefined ? undefined : { index, name: spelt! };
  }

  /** Names that start with `text` (ignoring case), then those that contain it. */
  suggest(text: string, limit = SUGGESTIONS): string[] {
    const t = text.trim().toLowerCase();
    if (!t) return [];
    const starts: string[] = [];
    const contains: string[] = [];
    for (const name of this.names) {
      const at = name.toLowerCase().indexOf(t);
      if (at === 0) starts.push(name);
      else if (at > 0 && contains.length < limit) contains.push(name);
      if (starts.length >= limit) break;
    }
    return [...starts, ...contains].slice(0, limit);
  }

  async values(index: number, kind: GeneValues): Promise<Float32Array> {
    if (typeof this.url !== 'string') return this.url.values(index, kind);
    const response = await fetch(`${this.url}/${index}?values=${kind}`);
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { error?: string } | null;
      throw new Error(body?.error ?? `the server answered ${response.status}`);
    }
    return new Float32Array(await response.arrayBuffer());
  }

  private async load(onStatus: (s: GeneStatus) => void): Promise<void> {
    for (;;) {
      const status =
        typeof this.url === 'string' ? await fetchStatus(this.url) : await this.url.status();
      onStatus(status);
      if (status.state === 'failed') throw new Error(status.error ?? 'the gene cache failed');
      if (status.state === 'ready') {
        this.indexNames(status.names ?? {});
        return;
      }
      await new Promise((done) => setTimeout(done, POLL_MS));
    }
  }

  private indexNames(namings: Record<string, string[]>): void {
    const index = new Map<string, number>();
    const folded = new Map<string, string>();
    // var_names first: its names win over a column's equal ones.
    const order = ['var_names', ...Object.keys(namings).filter((k) => k !== 'var_names')];
    for (const naming of order) {
      const names = namings[naming] ?? [];
      for (let g = 0; g < names.length; g++) {
        const name = names[g];
        if (!name || index.has(name)) continue;
        index.set(name, g);
        const f = name.toLowerCase();
        if (!folded.has(f)) folded.set(f, name);
      }
    }
    this.index = index;
    this.folded = folded;
    this.names = [...index.keys()];
  }
}

async function fetchStatus(url: string): Promise<GeneStatus> {
  const response = await fetch(url);
  const status = (await response.json()) as GeneStatus | { ok: false; error: string };
  if (!response.ok || !('state' in status)) {
    throw new Error('error' in status ? status.error : `the server answered ${response.status}`);
  }
  return status;
}

export interface GeneSearchActions {
  /**
   * Colours the cells by the gene (its name as typed or clicked) with these values; resolves
   * with the name as the file spells it.
   */
  colour(name: string, kind: GeneValues): Promise<string>;
}

/** The top bar's gene box: a name with suggestions, the kind of values and what happened. */
export class GeneSearch {
  readonly element: HTMLElement;
  private readonly input = el('input', {
    id: 'gene-search',
    type: 'search',
    list: 'gene-suggestions',
    placeholder: 'Gene…',
    autocomplete: 'off',
    spellcheck: 'false',
    title: 'Colour the cells by a gene’s expression',
  });
  private readonly list = el('datalist', { id: 'gene-suggestions' });
  private readonly kind = el(
    'select',
    {
      id: 'gene-values',
      title: 'log1p(CPM): what the model sees (counts per million, log1p); raw: the stored values',
    },
    [
      el('option', { value: 'log1p' }, [GENE_VALUES_LABEL.log1p]),
      el('option', { value: 'raw' }, [GENE_VALUES_LABEL.raw]),
    ],
  );
  private readonly info = el('span', { id: 'gene-status', class: 'muted small' });
  private current: string | null = null;
  /** Genes are shown one after the other, in the order asked. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: GeneSource,
    private readonly actions: GeneSearchActions,
  ) {
    this.input.oninput = () => {
      const options = this.source.suggest(this.input.value);
      this.list.replaceChildren(...options.map((n) => el('option', { value: n })));
    };
    // 'change' comes on Enter, on leaving the box and on picking a suggestion.
    this.input.onchange = () => void this.show(this.input.value);
    this.kind.onchange = () => {
      if (this.current) void this.show(this.current);
    };
    this.element = el('span', { class: 'gene-search' }, [
      el('label', {}, ['Gene ', this.input]),
      this.list,
      this.kind,
      this.info,
    ]);
    void this.source
      .ready((s) => {
        if (s.state === 'building') {
          const pct = s.total ? Math.floor((100 * s.done) / s.total) : 0;
          this.say(
            `preparing genes: ${pct}%`,
            'a gene-major copy of the matrix is built once (in the cache folder) so that a gene reads fast',
          );
        } else if (s.state === 'ready') {
          const built =
            s.buildSeconds === undefined ? '' : ` (prepared in ${s.buildSeconds.toFixed(1)} s)`;
          this.say(`genes of ${s.matrix}`, `the genes of ${s.matrix}${built}`);
        }
      })
      .catch((err: unknown) => this.say(`genes unavailable: ${(err as Error).message}`));
  }

  /** Colours by `name`, as if typed: the box shows it. */
  show(name: string): Promise<void> {
    const next = this.queue.then(() => this.showNow(name));
    this.queue = next;
    return next;
  }

  private async showNow(name: string): Promise<void> {
    const typed = name.trim();
    if (!typed) return;
    this.input.value = typed;
    const kind = this.kind.value as GeneValues;
    const started = performance.now();
    this.say(`reading ${typed}…`);
    try {
      const gene = await this.actions.colour(typed, kind);
      this.input.value = gene;
      this.current = gene;
      const ms = performance.now() - started;
      this.say(
        `${(ms / 1000).toFixed(2)} s`,
        `${gene}: ${GENE_VALUES_LABEL[kind]} read and drawn in ${(ms / 1000).toFixed(2)} s`,
      );
      this.info.dataset.gene = gene;
      this.info.dataset.ms = String(Math.round(ms));
    } catch (err) {
      this.say((err as Error).message);
    }
  }

  private say(text: string, title = text): void {
    this.info.textContent = text;
    this.info.title = title;
  }
}
