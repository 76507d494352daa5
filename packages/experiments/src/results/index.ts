/** Results of a plan: the tidy CSV, the Vega-Lite plots (SVG, PNG) and the HTML report. */
export { formatCsv, writeCsv } from './csv.js';
export { NO_FINISHED_RUNS, plotSpecs, type PlotSpec } from './plots.js';
export { renderPlots, renderPng, renderSvg } from './render.js';
export { REPORT_FILE, REPORT_STYLE, escapeHtml, formatReport, writeReport, type ReportInput, type ReportPlot } from './report.js';
