/// <reference lib="dom" />
// How the viewer chooses its scatterplot painter: the renderer names and default in the config,
// `?renderer=` forcing one, and which WebGL renderer strings 'auto' counts as software (then the
// CPU raster draws). The strings are what Chromium reports through WEBGL_debug_renderer_info.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { softwareRenderer } from '../../plugin/src/host/painter.js';
import {
  DEFAULT_RENDERER,
  RENDERERS,
  rendererFor,
  type ViewerConfig,
} from '../../plugin/src/shared/config.js';

const CONFIG: ViewerConfig = {
  query: { name: 'q.zarr', url: '/data/query/', format: 'zarr', writable: true },
  reference: null,
  model: null,
  labelKey: null,
  epochs: null,
};

test('renderer: auto by default, the config can set it, ?renderer= forces it', () => {
  assert.deepEqual([...RENDERERS], ['auto', 'webgl', 'cpu']);
  assert.equal(DEFAULT_RENDERER, 'auto');
  assert.equal(rendererFor(CONFIG, ''), 'auto');
  assert.equal(rendererFor({ ...CONFIG, renderer: 'cpu' }, ''), 'cpu');
  assert.equal(rendererFor({ ...CONFIG, renderer: 'cpu' }, '?renderer=webgl'), 'webgl');
  assert.equal(rendererFor(CONFIG, '?x=1&renderer=cpu'), 'cpu');
  assert.throws(() => rendererFor(CONFIG, '?renderer=gpu'), /renderer=gpu.*auto, webgl, cpu/);
});

test("'auto' counts software rasterisers as no GPU, hardware drivers (Mesa's too) as a GPU", () => {
  for (const s of [
    'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
    'Google SwiftShader',
    'llvmpipe (LLVM 15.0.6, 256 bits)',
    'ANGLE (Mesa, llvmpipe (LLVM 15.0.6, 256 bits), OpenGL 4.5)',
    'softpipe',
    'Mesa OffScreen',
  ])
    assert.equal(softwareRenderer(s), true, s);
  for (const s of [
    'ANGLE (NVIDIA, NVIDIA GeForce RTX 3080 (0x00002206) Direct3D11 vs_5_0 ps_5_0, D3D11)',
    'ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)',
    'ANGLE (AMD, AMD Radeon Pro 5500M OpenGL Engine, OpenGL 4.1)',
    'ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)',
    'Apple GPU',
  ])
    assert.equal(softwareRenderer(s), false, s);
});
