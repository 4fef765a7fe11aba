// Server-sent events parsed from text as it arrives, in the EventSource format: lines of
// `field: value`, a blank line ends an event, `:` starts a comment. EventSource itself
// cannot send the key in a header, so the page reads the stream with fetch() and this.

export class SseParser {
  constructor() {
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.id = null;
    this.event = null;
    this.data = [];
  }

  // The events completed by `text` (a chunk may end mid-line or mid-event).
  feed(text) {
    this.buffer += text;
    const lines = this.buffer.split("\n");
    this.buffer = lines.pop();
    const events = [];
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (this.data.length || this.id !== null) {
          events.push({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
        }
        this.reset();
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "id") this.id = value;
      else if (field === "event") this.event = value;
    }
    return events;
  }
}
