// The PromQL editor: CodeMirror 6 with codemirror-promql for highlighting,
// linting and autocompletion from this server's API.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionStatus } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { Compartment, EditorState, Prec, type Extension } from '@codemirror/state';
import { drawSelection, EditorView, highlightSpecialChars, keymap, placeholder } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { baseURL } from '../api';
import { loadSettings, settingsEvent, type Settings } from '../settings';

// Colours come from the stylesheet, so the light and dark themes both apply.
const highlight = HighlightStyle.define([
  { tag: tags.number, color: 'var(--hl-number)' },
  { tag: tags.string, color: 'var(--hl-string)' },
  { tag: tags.keyword, color: 'var(--hl-keyword)' },
  { tag: tags.function(tags.variableName), color: 'var(--hl-function)' },
  { tag: tags.labelName, color: 'var(--hl-label)' },
  { tag: tags.operator, color: 'var(--hl-operator)' },
  { tag: tags.modifier, color: 'var(--hl-operator)' },
  { tag: tags.paren, color: 'var(--hl-paren)' },
  { tag: tags.comment, color: 'var(--hl-comment)', fontStyle: 'italic' },
  { tag: tags.invalid, color: 'var(--bad)' },
]);

const theme = EditorView.theme({
  '&': { fontSize: '14px', border: '1px solid var(--border)', borderRadius: '4px', background: 'var(--panel-bg)', color: 'var(--fg)' },
  '&.cm-focused': { outline: '2px solid var(--accent-light)' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '6px 0', caretColor: 'var(--fg)' },
  '.cm-cursor': { borderLeftColor: 'var(--fg)' },
  '.cm-tooltip': { background: 'var(--panel-bg)', color: 'var(--fg)', border: '1px solid var(--border)' },
  '.cm-tooltip.cm-tooltip-autocomplete > ul': { fontFamily: 'var(--mono)', maxHeight: '20em' },
  '.cm-tooltip-autocomplete ul li[aria-selected]': { background: 'var(--accent-light)', color: 'var(--fg)' },
  '.cm-completionDetail': { color: 'var(--muted)', fontStyle: 'normal', marginLeft: '1em' },
  '.cm-placeholder': { color: 'var(--muted)' },
});

/** The settings that change a live editor, each in its own compartment. */
const helpers = new Compartment();
const highlighting = new Compartment();
const views = new Set<EditorView>();

function helperExtensions(s: Settings): Extension {
  // The PromQL extension is shared; its flags apply to the extension it makes next.
  return promqlExtension().activateCompletion(s.autocomplete).activateLinter(s.linter).asExtension();
}

function highlightExtensions(s: Settings): Extension {
  return s.highlighting ? syntaxHighlighting(highlight) : [];
}

window.addEventListener(settingsEvent, () => {
  const s = loadSettings();
  for (const v of views) {
    if (!v.dom.isConnected) {
      views.delete(v);
      continue;
    }
    v.dispatch({ effects: [helpers.reconfigure(helperExtensions(s)), highlighting.reconfigure(highlightExtensions(s))] });
  }
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
  const s = loadSettings();
  const view = new EditorView({
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
        highlighting.of(highlightExtensions(s)),
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
        helpers.of(helperExtensions(s)),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) opts.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  views.add(view);
  return view;
}

/** setDoc replaces the editor's whole text, as one undoable change. */
export function setDoc(view: EditorView, doc: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: doc } });
}
