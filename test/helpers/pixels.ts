/// <reference lib="dom" />
/** Screenshots compared pixel by pixel, decoded by the page's own Chromium (no PNG library). */
import type { Page } from 'playwright-core';

/**
 * Two screenshots of the plot compared in the page (decoded by Chromium): pixels that differ, and
 * pixels of the second near viridis' top colour (#fde725, the highest values).
 */
export async function comparePlots(page: Page, a: Buffer, b: Buffer) {
  return page.evaluate(
    async ([a64, b64s]) => {
      // No named functions in here: tsx would wrap them in a helper the page lacks.
      const decoded: Uint8ClampedArray[] = [];
      for (const b64 of [a64, b64s]) {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0);
        decoded.push(g.getImageData(0, 0, c.width, c.height).data);
      }
      const [x, y] = decoded;
      let differing = 0;
      let yellow = 0;
      for (let i = 0; i < x.length; i += 4) {
        const d =
          Math.abs(x[i] - y[i]) + Math.abs(x[i + 1] - y[i + 1]) + Math.abs(x[i + 2] - y[i + 2]);
        if (d > 30) differing++;
        const e = Math.abs(y[i] - 253) + Math.abs(y[i + 1] - 231) + Math.abs(y[i + 2] - 37);
        if (e < 60) yellow++;
      }
      return { differing, yellow, pixels: x.length / 4 };
    },
    [a.toString('base64'), b.toString('base64')],
  );
}
