/**
 * stderr as the CLI shares it between log lines and the live status line. On a terminal the status
 * line is the last line: a log line clears it, is written whole, and the status line is drawn again
 * below it, so neither tears the other. Everything goes out synchronously from this thread (a pino
 * transport writes from a worker thread, and its lines would land in the middle of a redraw).
 */
export class Terminal {
  private statusText = '';
  readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Writes whole lines above the status line. */
  write(text: string): void {
    if (!this.tty || !this.statusText) {
      this.stream.write(text);
      return;
    }
    this.stream.write(`\r\x1b[K${text}${this.fit(this.statusText)}`);
  }

  /** Replaces the status line (terminals only); cut to the width so it never wraps. */
  status(text: string): void {
    if (!this.tty) return;
    this.statusText = text;
    this.stream.write(`\r\x1b[K${this.fit(text)}`);
  }

  /** Removes the status line, leaving the cursor at the start of an empty line. */
  clearStatus(): void {
    if (!this.tty || !this.statusText) return;
    this.statusText = '';
    this.stream.write('\r\x1b[K');
  }

  private fit(text: string): string {
    const columns = this.stream.columns || 80;
    return text.length < columns ? text : `${text.slice(0, columns - 2)}…`;
  }
}
