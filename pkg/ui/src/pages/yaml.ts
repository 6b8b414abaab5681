// A small YAML highlighter for the Config page: comments, keys, strings,
// numbers and booleans, line by line. Enough for a Prometheus configuration;
// anything it is unsure of (block scalars, flow collections) stays plain.

import { h } from '../dom';

/** A token: its class ('' for plain text) and its text. */
export type Token = [string, string];

const lineRE = /^(\s*(?:-\s+)?)([^\s#'"][^:#]*?|"[^"]*"|'[^']*')(:)(\s|$)(.*)$/;

function valueTokens(v: string): Token[] {
  const [, body, comment] = /^(.*?)(\s+#.*)?$/.exec(v)!;
  const t = body.trim();
  let cls = '';
  if (/^(['"]).*\1$/.test(t)) cls = 'y-string';
  else if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t) || /^(\d+(ms|s|m|h|d|w|y))+$/.test(t)) cls = 'y-number';
  else if (/^(true|false|null|~)$/.test(t)) cls = 'y-bool';
  else if (t !== '' && !/^[[{|>]/.test(t)) cls = 'y-string';
  const out: Token[] = [[cls, body]];
  if (comment) out.push(['y-comment', comment]);
  return out;
}

/** yamlTokens splits YAML text into tokens whose texts join back to it. */
export function yamlTokens(text: string): Token[] {
  const out: Token[] = [];
  text.split('\n').forEach((line, i) => {
    if (i > 0) out.push(['', '\n']);
    if (/^\s*#/.test(line)) {
      out.push(['y-comment', line]);
      return;
    }
    const m = lineRE.exec(line);
    if (m) {
      const [, indent, key, colon, space, rest] = m;
      out.push(['', indent], ['y-key', key], ['', colon + space], ...valueTokens(rest));
      return;
    }
    const item = /^(\s*-\s+)(.*)$/.exec(line);
    if (item) out.push(['', item[1]], ...valueTokens(item[2]));
    else out.push(['', line]);
  });
  return out.filter(([, t]) => t !== '');
}

/** highlightYAML returns the text as spans and text nodes. */
export function highlightYAML(text: string): (Node | string)[] {
  return yamlTokens(text).map(([cls, t]) => (cls ? h('span', { className: cls }, t) : t));
}
