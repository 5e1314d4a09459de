// The hand edits of labels live in core (the VS Code viewer edits labels too).
export { LabelEdits } from '@scnym/core/label-edits';
