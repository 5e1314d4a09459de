/**
 * Bring your own reference: an .h5ad, a .zarr folder or a model folder (written by scnym train)
 * chosen or dropped in the panel. The files stay File objects: the workers read them (only the
 * parts they need), so the server serves nothing new.
 */
import type { DatasetLocation, PickedFile } from '../../shared/worker-messages.js';
import { el } from '../../ui/dom.js';

/** What the picked files are. */
export type PickedSource =
  | { kind: 'reference'; dataset: DatasetLocation }
  | { kind: 'model'; name: string; files: PickedFile[] };

export class PickView {
  private readonly file = el('input', {
    id: 'tl-pick-file',
    type: 'file',
    accept: '.h5ad',
    hidden: true,
  });
  private readonly folder = el('input', {
    id: 'tl-pick-folder',
    type: 'file',
    webkitdirectory: true,
    hidden: true,
  });
  readonly element: HTMLElement;

  /** `pick` gets what was chosen; `say` a file that is none of the three. */
  constructor(
    pick: (source: PickedSource) => void,
    private readonly say: (message: string) => void,
  ) {
    const chooseFile = el('button', { id: 'tl-pick-file-button', type: 'button' }, [
      'Choose .h5ad…',
    ]);
    const chooseFolder = el('button', { id: 'tl-pick-folder-button', type: 'button' }, [
      'Choose folder…',
    ]);
    chooseFile.onclick = () => this.file.click();
    chooseFolder.onclick = () => this.folder.click();
    const take = (files: PickedFile[]) => {
      const source = classify(files);
      if ('problem' in source) this.say(source.problem);
      else pick(source);
    };
    this.file.onchange = () => take(fromInput(this.file));
    this.folder.onchange = () => take(fromInput(this.folder));
    this.element = el(
      'div',
      {
        id: 'tl-pick',
        class: 'drop small muted',
        title: 'read in this page: nothing is uploaded',
      },
      [
        el('div', { class: 'buttons' }, [chooseFile, chooseFolder, this.file, this.folder]),
        'or drop an .h5ad, a .zarr folder or a model folder (scnym train --model-out) here',
      ],
    );
    this.element.ondragover = (e) => {
      e.preventDefault();
      this.element.classList.add('over');
    };
    this.element.ondragleave = () => this.element.classList.remove('over');
    this.element.ondrop = (e) => {
      e.preventDefault();
      this.element.classList.remove('over');
      // The entries must be taken before the handler returns; reading them can wait.
      const entries = [...(e.dataTransfer?.items ?? [])]
        .map((item) => item.webkitGetAsEntry())
        .filter((entry): entry is FileSystemEntry => entry !== null);
      // Without entries (a browser that has none), the dropped files themselves.
      if (entries.length === 0)
        return take([...(e.dataTransfer?.files ?? [])].map((file) => ({ path: file.name, file })));
      void fromEntries(entries).then(take, (err: Error) =>
        this.say(`cannot read the dropped files: ${err.message}`),
      );
    };
  }
}

/** An input's files with their paths inside the chosen folder (its own name left off). */
function fromInput(input: HTMLInputElement): PickedFile[] {
  return [...(input.files ?? [])].map((file) => ({
    path: file.webkitRelativePath || file.name,
    file,
  }));
}

/** Dropped files and folders, walked (a folder's path starts with its name, as an input's). */
async function fromEntries(entries: FileSystemEntry[]): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((ok, fail) =>
        (entry as FileSystemFileEntry).file(ok, fail),
      );
      out.push({ path: entry.fullPath.replace(/^\//, ''), file });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries answers in batches until an empty one.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((ok, fail) =>
        reader.readEntries(ok, fail),
      );
      if (batch.length === 0) break;
      for (const child of batch) await walk(child);
    }
  };
  for (const entry of entries) await walk(entry);
  return out;
}

/**
 * An .h5ad file, a model folder (scnym.json at its top) or an AnnData Zarr folder (.zgroup or
 * zarr.json at its top, and obs/); paths come in as 'folder/…' and leave relative to the folder.
 */
export function classify(files: PickedFile[]): PickedSource | { problem: string } {
  const hint = 'pick an .h5ad file, a .zarr folder or a model folder written by scnym train';
  if (files.length === 0) return { problem: `nothing was picked: ${hint}` };
  if (files.length === 1 && !files[0].path.includes('/')) {
    const { file } = files[0];
    if (!/\.h5ad$/i.test(file.name))
      return { problem: `${file.name}: not an .h5ad file → ${hint}` };
    return {
      kind: 'reference',
      dataset: { url: file.name, format: 'h5ad', name: file.name, files: [files[0]] },
    };
  }
  const folder = files[0].path.split('/')[0];
  const inside = files
    .filter((f) => f.path.startsWith(`${folder}/`))
    .map((f) => ({ path: f.path.slice(folder.length + 1), file: f.file }));
  const top = new Set(inside.map((f) => f.path));
  if (top.has('scnym.json')) return { kind: 'model', name: folder, files: inside };
  // An AnnData store, not one of its groups (obs/ is a Zarr group too).
  const anndata = inside.some((f) => f.path.startsWith('obs/'));
  if ((top.has('.zgroup') || top.has('zarr.json')) && anndata)
    return {
      kind: 'reference',
      dataset: { url: folder, format: 'zarr', name: folder, files: inside },
    };
  return {
    problem: `${folder}: neither an scNym model folder (no scnym.json) nor an AnnData .zarr (no .zgroup or zarr.json with obs/ beside it) → ${hint}`,
  };
}
