// A conversation through @langchain/langgraph-sdk, the web frontend's client.
// Usage: node conversation.mjs URL  -> prints one JSON object describing what the client saw.
import { Client } from "@langchain/langgraph-sdk";

const url = process.argv[2];
const client = new Client({ apiUrl: url });

const thread = await client.threads.create({ metadata: { client: "js-sdk-test" } });
const events = {};
let streamedText = "";
const streamedById = {};
let finalValues = null;
for await (const chunk of client.runs.stream(thread.thread_id, "wwhd", {
  input: { messages: [{ role: "user", content: "What is Huang Qi used for?" }] },
  streamMode: ["values", "messages-tuple"],
})) {
  events[chunk.event] = (events[chunk.event] ?? 0) + 1;
  if (chunk.event === "values") finalValues = chunk.data;
  if (chunk.event === "messages") {
    const [message] = chunk.data;
    if (message.type === "AIMessageChunk" || message.type === "ai") {
      streamedText += message.content;
      streamedById[message.id] = (streamedById[message.id] ?? "") + message.content;
    }
  }
}

const followUp = await client.runs.wait(thread.thread_id, "wwhd", {
  input: { messages: [{ role: "user", content: "What are its cautions?" }] },
});
const state = await client.threads.getState(thread.thread_id);
const history = await client.threads.getHistory(thread.thread_id, { limit: 50 });

console.log(JSON.stringify({
  threadId: thread.thread_id,
  events,
  streamedText,
  firstRoute: finalValues?.route,
  firstSources: (finalValues?.sources ?? []).map((s) => s.doc_id),
  firstAnswer: finalValues?.messages?.at(-1)?.content,
  followUpQuery: followUp.query,
  followUpSources: (followUp.sources ?? []).map((s) => s.doc_id),
  firstAnswerId: finalValues?.messages?.at(-1)?.id,
  streamedById,
  stateMessages: state.values.messages.length,
  // Each answer's own contract, read back from the thread's state (what a reload sees).
  answerMetadata: state.values.messages
    .filter((m) => m.type === "ai")
    .map((m) => ({ content: m.content, wwhd: m.response_metadata?.wwhd })),
  historyLength: history.length,
}));
