// Browser-safe chart rendering: no node: imports anywhere under src/plot/.
export { renderChart, type Chart, type ChartSpec, type PanelSpec, type SeriesSpec } from './chart.js';
export { Canvas, type RgbaImage, type Rgb, type Rect } from './canvas.js';
export { PALETTE, parseColor, type Color } from './palette.js';
export { drawText, textWidth, textHeight, hasGlyph } from './font.js';
export { niceStep, formatTicks } from './ticks.js';
