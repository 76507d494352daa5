/**
 * fast-xml-parser (major 5), this package's own dependency. A plain import: Node, vitest and Nx
 * resolve it from this package, and labrig-run's bundle imports a package's own nested copy by
 * its path when the workspace root hoists another version (3.x, without XMLParser, is there).
 */
import * as fxp from 'fast-xml-parser';

export type FastXmlParser = typeof fxp;

/** The parser library (`_root` is kept for callers; the library no longer depends on it). */
export function loadXmlLibrary(_root?: string): FastXmlParser {
  if (typeof fxp.XMLParser !== 'function') throw new Error('fast-xml-parser 5 is required by @labrig/platform-cloudlab (XMLParser missing): run npm install');
  return fxp;
}
