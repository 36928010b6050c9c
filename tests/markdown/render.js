// Renders Markdown the way Mattermost's webapp does, for nippo's tests.
// One JSON request a line on stdin ({"text": "..."}), one JSON answer a line
// on stdout: the HTML, the at-mentions and channel links the parser found,
// the literal text of code spans, and every node type met.
"use strict";
const readline = require("readline");
const commonmark = require("@mattermost/commonmark");

const parser = new commonmark.Parser();
const renderer = new commonmark.HtmlRenderer({ safe: true });

function describe(text) {
  const doc = parser.parse(text);
  const found = { mentions: [], channels: [], codes: [], links: [], types: [] };
  const walker = doc.walker();
  let event;
  while ((event = walker.next())) {
    if (!event.entering) continue;
    const node = event.node;
    found.types.push(node.type);
    if (node.type === "at_mention") found.mentions.push(node.mentionName);
    if (node.type === "channel_link") found.channels.push(node.channelName);
    if (node.type === "code" || node.type === "code_block") found.codes.push(node.literal);
    if (node.type === "link" || node.type === "image") found.links.push(node.destination);
  }
  found.html = renderer.render(doc);
  return found;
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  let answer;
  try {
    answer = describe(JSON.parse(line).text);
  } catch (error) {
    answer = { error: String(error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
