// The reference chat page: what a Next.js frontend does with @langchain/langgraph-sdk's
// useStream, small enough to read in one sitting. Served by the server at /ui.
import { useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/langgraph-sdk/react";

const TOKEN_KEY = "wwhd.token";
const URGENT = new Set(["red_flag", "possible_red_flag"]);

function threadFromUrl() {
  return new URLSearchParams(window.location.search).get("thread");
}

// The thread id lives in the URL so a reload (or a shared link) reopens the conversation.
function writeThreadToUrl(threadId) {
  const url = new URL(window.location.href);
  if (threadId) url.searchParams.set("thread", threadId);
  else url.searchParams.delete("thread");
  window.history.replaceState(null, "", url);
}

function textOf(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => part?.text ?? "").join("");
  return "";
}

// Light Markdown: **bold**, _italic_ and, where `cite` knows source n, [n] as a button.
const INLINE = /(\*\*[^*]+\*\*|(?<![\w])_[^_]+_(?![\w])|\[\d+\])/g;

function Inline({ text, cite }) {
  return text.split(INLINE).map((part, i) => {
    if (part.startsWith("**") && part.endsWith("**") && part.length > 4) {
      return <strong key={i}>{part.slice(2, -2)}</strong>;
    }
    if (/^_[^_]+_$/.test(part)) return <em key={i}>{part.slice(1, -1)}</em>;
    const match = /^\[(\d+)\]$/.exec(part);
    if (match && cite?.has(Number(match[1]))) {
      const n = Number(match[1]);
      return (
        <button key={i} type="button" className="cite" data-testid="citation" data-n={n}
                onClick={() => cite.open(n)}>[{n}]</button>
      );
    }
    return part;
  });
}

// Paragraphs split on blank lines; a paragraph whose lines all start with "- " is a list.
function Markdown({ text, cite }) {
  const blocks = text.split(/\n{2,}/).filter((block) => block.trim());
  return blocks.map((block, i) => {
    const lines = block.split("\n");
    if (lines.every((line) => line.startsWith("- "))) {
      return (
        <ul key={i}>
          {lines.map((line, j) => <li key={j}><Inline text={line.slice(2)} cite={cite} /></li>)}
        </ul>
      );
    }
    return (
      <p key={i}>
        {lines.map((line, j) => (
          <span key={j}>{j > 0 && <br />}<Inline text={line} cite={cite} /></span>
        ))}
      </p>
    );
  });
}

function Note({ note, cite }) {
  const urgent = URGENT.has(note.kind);
  return (
    <div className={`note note-${note.kind}`} data-testid={urgent ? "red-flag" : "note"}
         data-kind={note.kind} role={urgent ? "alert" : undefined}>
      <Markdown text={note.text} cite={cite} />
    </div>
  );
}

// A work the passage's document cites: {work, section?, date?, url?}.
function Reference({ reference }) {
  const said = [reference.work, reference.section, reference.date].filter(Boolean).join(", ");
  if (!reference.url) return said;
  return <>{said} <a href={reference.url} target="_blank" rel="noreferrer">link</a></>;
}

function SourcePanel({ source, onClose }) {
  return (
    <aside className="source" data-testid="source-panel" data-n={source.n}>
      <button type="button" className="close" aria-label="Close source" onClick={onClose}>×</button>
      <h3 data-testid="source-title">[{source.n}] {source.title}</h3>
      <div className="meta">
        {[source.section, source.tradition, source.category].filter(Boolean).join(" · ")}
        {source.reviewed ? ` · reviewed ${source.reviewed}` : ""}
      </div>
      <blockquote>{source.text}</blockquote>
      {Array.isArray(source.references) && source.references.length > 0 && (
        <ul className="references">
          {source.references.map((ref, i) => <li key={i}><Reference reference={ref} /></li>)}
        </ul>
      )}
    </aside>
  );
}

// An assistant message: plain streamed text until the final message brings its contract
// (response_metadata.wwhd); then notes, body and citations that resolve against its own sources.
function AiMessage({ message }) {
  const [shown, setShown] = useState(null);
  const contract = message.response_metadata?.wwhd;
  if (!contract) {
    return (
      <div className="message ai" data-testid="message" data-role="ai" data-final="false">
        <Markdown text={textOf(message.content)} />
      </div>
    );
  }
  const sources = contract.sources ?? [];
  const cite = {
    has: (n) => sources.some((s) => s.n === n),
    open: (n) => setShown((current) => (current === n ? null : n)),
  };
  const notes = contract.notes ?? [];
  const before = notes.filter((note) => note.placement === "before");
  // Urgent-care guidance goes first whatever order the notes came in.
  before.sort((a, b) => Number(URGENT.has(b.kind)) - Number(URGENT.has(a.kind)));
  const after = notes.filter((note) => note.placement !== "before");
  const source = sources.find((s) => s.n === shown);
  return (
    <div className="message ai" data-testid="message" data-role="ai" data-final="true"
         data-route={contract.route} data-mode={contract.mode}>
      {before.map((note, i) => <Note key={`b${i}`} note={note} cite={cite} />)}
      <div className="body"><Markdown text={contract.body ?? ""} cite={cite} /></div>
      {after.map((note, i) => <Note key={`a${i}`} note={note} cite={cite} />)}
      {source && <SourcePanel source={source} onClose={() => setShown(null)} />}
    </div>
  );
}

function HumanMessage({ message }) {
  return (
    <div className="message human" data-testid="message" data-role="human">
      {textOf(message.content)}
    </div>
  );
}

function describeError(error, hasToken) {
  const status = error?.status;
  if (status === 401 && !hasToken) {
    return ["The server needs a token: paste one in the token field.", error.message];
  }
  if (status === 401 || status === 403) {
    return ["The server did not accept the token: check it, or paste another.", error.message];
  }
  return ["Something went wrong talking to the server.", error?.message ?? String(error)];
}

function App() {
  const [token, setToken] = useState(() => window.localStorage.getItem(TOKEN_KEY) ?? "");
  const [threadId, setThreadId] = useState(threadFromUrl);
  const [draft, setDraft] = useState("");

  // A new object would make a new client (and a new history read) on every render.
  const defaultHeaders = useMemo(
    () => (token.trim() ? { Authorization: `Bearer ${token.trim()}` } : undefined),
    [token],
  );

  const stream = useStream({
    apiUrl: window.location.origin,
    apiKey: null, // never an x-api-key: the server reads the bearer token
    assistantId: "wwhd",
    messagesKey: "messages",
    threadId,
    onThreadId: (id) => {
      setThreadId(id);
      writeThreadToUrl(id);
    },
    // The thread's current state is enough to show a reopened conversation; no branching here.
    fetchStateHistory: false,
    defaultHeaders,
  });

  const saveToken = (value) => {
    setToken(value);
    if (value.trim()) window.localStorage.setItem(TOKEN_KEY, value.trim());
    else window.localStorage.removeItem(TOKEN_KEY);
  };

  const send = (event) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text || stream.isLoading) return;
    setDraft("");
    const message = { type: "human", content: text };
    stream.submit({ messages: [message] }, {
      streamMode: ["messages-tuple", "values"],
      // Shown at once; the server's first `values` event replaces it with the stored one.
      optimisticValues: (prev) => ({ ...prev, messages: [...(prev.messages ?? []), message] }),
    });
  };

  const [headline, detail] = stream.error ? describeError(stream.error, Boolean(defaultHeaders)) : [];
  return (
    <main>
      <header>
        <h1>W.W.H.D.</h1>
        <label className="token">
          Token
          <input data-testid="token" type="password" autoComplete="off" value={token}
                 placeholder="bearer token, if the server needs one"
                 onChange={(event) => saveToken(event.target.value)} />
        </label>
        <button type="button" data-testid="new-thread" onClick={() => {
          // Forget the thread in the URL too, or a reload would reopen the old conversation.
          setThreadId(null);
          writeThreadToUrl(null);
          stream.switchThread(null);
        }}>
          New conversation
        </button>
      </header>
      <section className="messages" data-testid="messages" aria-live="polite">
        {stream.isThreadLoading && <p className="muted">Loading the conversation…</p>}
        {stream.messages.map((message, i) => (
          message.type === "human"
            ? <HumanMessage key={message.id ?? i} message={message} />
            : message.type === "ai"
              ? <AiMessage key={message.id ?? i} message={message} />
              : null
        ))}
        {stream.isLoading && <p className="muted" data-testid="thinking">…</p>}
      </section>
      {stream.error && (
        <div className="error" role="alert" data-testid="error">
          <strong>{headline}</strong>
          <div className="muted">{detail}</div>
        </div>
      )}
      <form className="composer" onSubmit={send}>
        <input data-testid="composer" value={draft} autoFocus
               placeholder="Ask about Traditional Chinese Medicine or Shaolin…"
               onChange={(event) => setDraft(event.target.value)} />
        <button data-testid="send" type="submit" disabled={stream.isLoading || !draft.trim()}>
          Send
        </button>
      </form>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<App />);
