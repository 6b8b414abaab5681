// The PromQL editor: CodeMirror 6 with codemirror-promql for highlighting,
// linting and autocompletion from this server's API.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionStatus } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { EditorState, Prec } from '@codemirror/state';
import { drawSelection, EditorView, highlightSpecialChars, keymap, placeholder } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { baseURL } from '../api';

const highlight = HighlightStyle.define([
  { tag: tags.number, color: '#09885a' },
  { tag: tags.string, color: '#a31515' },
  { tag: tags.keyword, color: '#0000ff' },
  { tag: tags.function(tags.variableName), color: '#795e26' },
  { tag: tags.labelName, color: '#267f99' },
  { tag: tags.operator, color: '#af00db' },
  { tag: tags.modifier, color: '#af00db' },
  { tag: tags.paren, color: '#555' },
  { tag: tags.comment, color: '#888', fontStyle: 'italic' },
  { tag: tags.invalid, color: 'red' },
]);

const theme = EditorView.theme({
  '&': { fontSize: '14px', border: '1px solid var(--border)', borderRadius: '4px', background: '#fff' },
  '&.cm-focused': { outline: '2px solid var(--accent-light)' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '6px 0' },
  '.cm-tooltip.cm-tooltip-autocomplete > ul': { fontFamily: 'var(--mono)', maxHeight: '20em' },
  '.cm-completionDetail': { color: '#888', fontStyle: 'normal', marginLeft: '1em' },
});

let promql: PromQLExtension | undefined;

/** promqlExtension is shared by every panel, so they share one cache of
 * metric names and metadata. */
function promqlExtension(): PromQLExtension {
  // The URL is absolute but computed from the page, so it carries the route
  // prefix; the client appends /api/v1/... itself.
  promql ??= new PromQLExtension().setComplete({
    remote: { url: baseURL(), httpMethod: 'GET', cache: { maxAge: 5 * 60 * 1000 } },
  });
  return promql;
}

export interface EditorOptions {
  doc: string;
  onExecute: () => void;
  onChange: (expr: string) => void;
}

/** createEditor makes an editor where Enter runs the query and Shift+Enter
 * adds a newline; while the completion list is open, Enter picks from it. */
export function createEditor(parent: HTMLElement, opts: EditorOptions): EditorView {
  const run = (view: EditorView) => {
    if (completionStatus(view.state) === 'active') return false;
    opts.onExecute();
    return true;
  };
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.doc,
      extensions: [
        highlightSpecialChars(),
        history(),
        drawSelection(),
        bracketMatching(),
        closeBrackets(),
        autocompletion(),
        syntaxHighlighting(highlight),
        theme,
        EditorView.lineWrapping,
        placeholder('Expression (press Shift+Enter for newlines)'),
        Prec.highest(
          keymap.of([
            { key: 'Enter', run },
            { key: 'Shift-Enter', run: insertNewlineAndIndent },
          ]),
        ),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...lintKeymap]),
        promqlExtension().asExtension(),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) opts.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
}

/** setDoc replaces the editor's whole text, as one undoable change. */
export function setDoc(view: EditorView, doc: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: doc } });
}
