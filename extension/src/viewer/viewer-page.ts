/**
 * The viewer webview's page, without `vscode` (so a plain Node test can serve the same page to
 * Chromium): the markup, the theme overrides and what its Content-Security-Policy adds.
 */
import type { DataRequest, DatasetLocation } from '@scnym/plugin/data-messages';

/** dist/webview files: the bundle of src/webview/viewer.ts and the plugin's styles.css. */
export const VIEWER_SCRIPT = 'viewer.js';
export const VIEWER_STYLES = ['viewer.css'];

/**
 * The plugin's legend sets colours through style attributes, which CSP counts as inline styles.
 * No eval: the plot is drawn on a 2-D canvas.
 */
export const VIEWER_CSP = {
  extra: { 'style-src': ["'unsafe-inline'"] },
} as const;

/**
 * The plugin's styles.css is written for a light page; these make the chrome around the plot
 * follow the VS Code theme (the plot's own background is passed to the Viewer).
 */
const THEME_CSS = `
html, body {
  padding: 0;
  color: var(--vscode-foreground);
  background: var(--vscode-editor-background);
  font-family: var(--vscode-font-family);
}
.topbar, .status { background: var(--vscode-sideBar-background, transparent); color: inherit; }
.topbar, .status, .legend, .panels { border-color: var(--vscode-panel-border, #8884); }
.muted, .status, .legend-row .count, .ramp-labels { color: var(--vscode-descriptionForeground); }
button {
  color: var(--vscode-button-secondaryForeground);
  background: var(--vscode-button-secondaryBackground);
  border-color: var(--vscode-button-border, transparent);
}
.topbar .mode.active {
  color: var(--vscode-button-foreground);
  background: var(--vscode-button-background);
  border-color: var(--vscode-button-background);
}
input {
  color: var(--vscode-input-foreground);
  background: var(--vscode-input-background);
  border: 1px solid var(--vscode-input-border, #8884);
}
button.primary {
  color: var(--vscode-button-foreground);
  background: var(--vscode-button-background);
  border-color: var(--vscode-button-background);
}
select {
  color: var(--vscode-dropdown-foreground);
  background: var(--vscode-dropdown-background);
  border: 1px solid var(--vscode-dropdown-border, transparent);
}
.legend-row .name { color: inherit; }
.legend-row.hidden-category .name { color: var(--vscode-disabledForeground); }
.tooltip {
  color: var(--vscode-editorHoverWidget-foreground);
  background: var(--vscode-editorHoverWidget-background);
  border-color: var(--vscode-editorHoverWidget-border);
}
.fatal { color: var(--vscode-errorForeground); }
/* Only the Relabel panel is registered in VS Code (annotation runs from commands). */
#panels:empty { display: none; }
`;

export const VIEWER_BODY = `<style>${THEME_CSS}</style>\n<div id="app" class="app">Loading…</div>`;

export function viewerTitle(name: string): string {
  return `scNym viewer — ${name}`;
}

/**
 * The request the worker gets for one the webview sent: `open` always opens the panel's own
 * file (DatasetLocation.url holds the path in the extension), whatever the webview asked for.
 */
export function hostRequest(request: DataRequest, dataset: DatasetLocation): DataRequest {
  return request.type === 'open' ? { ...request, dataset } : request;
}
