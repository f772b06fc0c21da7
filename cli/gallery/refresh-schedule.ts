/**
 * When the gallery's index refreshes: every `intervalMs` while a page is watching, not at all once
 * no page has asked for anything for `pauseWithoutPageMs` (no S3 requests for nobody), and at once
 * when a page asks again after such a pause.
 */
export class RefreshSchedule {
  /** When a page last asked for cards or counts (start counts as one). */
  private pageSeenAt = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly refresh: () => void,
    private readonly options: { readonly intervalMs: number; readonly pauseWithoutPageMs: number },
  ) {
    this.timer = setInterval(() => {
      if (this.watched) this.refresh();
    }, options.intervalMs);
    this.timer.unref();
  }

  /** True while a page has asked for something within `pauseWithoutPageMs`. */
  get watched(): boolean {
    return Date.now() - this.pageSeenAt <= this.options.pauseWithoutPageMs;
  }

  /** A page asked: after a pause, refresh at once rather than at the next tick. */
  pageAsked(): void {
    const wasWatched = this.watched;
    this.pageSeenAt = Date.now();
    if (!wasWatched) this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
