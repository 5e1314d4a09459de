/**
 * Colour by gene in the VS Code viewer, in the viewer's worker. `scnym view` reads genes from a
 * gene-major cache its server builds (plugin/src/server/gene-cache.ts); here there is none, so
 * each gene is one pass over the matrix in row blocks (the matrix core feeds the model, core's
 * chooseMatrix; log1p(CPM) by core's normaliseBlock: the values the plugin shows). That is quick
 * for a small file and slow for a large one, so it is offered up to `maxValues` stored values
 * and refused above with a pointer to `scnym view`. Memory: one row block and one value a cell.
 */
import { chooseMatrix, matrixGeneNamings, normaliseBlock, type AnnData } from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import type { GeneStatus, GeneValues } from '@scnym/plugin/genes';

type ChosenMatrix = Awaited<ReturnType<typeof chooseMatrix>>;

/** Stored values read per gene at most (a dense matrix counts every entry). */
export const MAX_GENE_VALUES = 20_000_000;

export class GeneReader {
  private opened: Promise<{ ad: AnnData; m: ChosenMatrix; names: GeneStatus['names'] }> | null =
    null;

  constructor(
    readonly path: string,
    private readonly maxValues = MAX_GENE_VALUES,
  ) {}

  /** Ready with the gene names of every naming, or failed with why genes are not offered. */
  async status(): Promise<GeneStatus> {
    try {
      const { m, names } = await this.open();
      const [nObs, nGenes] = m.reader.shape;
      const stored = m.reader.nnz ?? nObs * nGenes;
      if (stored > this.maxValues) {
        return {
          state: 'failed',
          done: 0,
          total: nObs,
          error:
            `${m.reader.name} holds ${stored.toLocaleString('en-US')} values and each gene ` +
            `would read them all here (at most ${this.maxValues.toLocaleString('en-US')}): ` +
            'colour by gene with `scnym view`, which prepares the genes once',
        };
      }
      return { state: 'ready', done: nObs, total: nObs, matrix: m.reader.name, names };
    } catch (err) {
      return { state: 'failed', done: 0, total: 0, error: (err as Error).message };
    }
  }

  /** Gene `index` in every cell: log1p(CPM) or the stored values. */
  async values(index: number, kind: GeneValues): Promise<Float32Array> {
    const status = await this.status();
    if (status.state !== 'ready') throw new Error(status.error);
    const { m } = await this.open();
    const [nObs, nGenes] = m.reader.shape;
    if (!Number.isInteger(index) || index < 0 || index >= nGenes) {
      throw new Error(`no gene ${index} in ${m.reader.name} (${nGenes} genes)`);
    }
    const out = new Float32Array(nObs);
    const step = m.reader.preferredBlockRows;
    for (let start = 0; start < nObs; start += step) {
      const end = Math.min(nObs, start + step);
      const raw = await m.reader.rows(start, end);
      const block = kind === 'raw' ? raw : normaliseBlock(m, raw, start, end);
      for (let r = 0; r < block.nRows; r++) {
        for (let k = block.indptr[r]; k < block.indptr[r + 1]; k++) {
          if (block.indices[k] === index) {
            out[start + r] = block.data[k];
            break;
          }
        }
      }
    }
    return out;
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = null;
    await opened?.then(({ ad }) => ad.close()).catch(() => undefined);
  }

  private open() {
    this.opened ??= (async () => {
      const ad = await openAnnDataFile(this.path);
      try {
        const m = await chooseMatrix(ad, undefined);
        const names = await matrixGeneNamings(ad, m);
        return { ad, m, names };
      } catch (err) {
        await ad.close();
        throw err;
      }
    })();
    const opened = this.opened;
    opened.catch(() => {
      if (this.opened === opened) this.opened = null;
    });
    return opened;
  }
}
