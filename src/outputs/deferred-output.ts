import type { LiveStream } from '../media/live-stream.js';
import type { MediaUnit } from '../media/media-unit.js';
import type { RawInput, RawWrite } from '../media/raw-input.js';
import type { EndReason } from '../core/end-reasons.js';
import type { OutputKind, OutputProcess, StreamOutput } from './output-manager.js';
import { codecsKnownAt } from './output-choice.js';

/** Builds the output once what it must take is known. */
export interface OutputChooser {
  /** For a stream of units whose decoder configurations are now known. */
  forUnits(stream: LiveStream): StreamOutput;
  /** For a publisher of container bytes (WebM, MP4 over WebSocket). */
  forRaw(stream: LiveStream): StreamOutput;
}

/**
 * A stream's output before its codecs are known: at publish nothing says yet whether the packager
 * can take the stream or FFmpeg must. The first key frame (or audio of a stream without video)
 * decides; the chosen output then starts on the stream's startup units (headers and the GOP), so
 * nothing since the key frame is lost. A container publisher decides at once (FFmpeg reads it).
 */
export class DeferredOutput implements StreamOutput {
  readonly id: string;
  readonly #stream: LiveStream;
  readonly #chooser: OutputChooser;
  #inner: StreamOutput | undefined;
  #after: Promise<unknown> = Promise.resolve();
  #live = false;
  #stopped = false;

  constructor(stream: LiveStream, chooser: OutputChooser) {
    this.#stream = stream;
    this.#chooser = chooser;
    this.id = `output:${stream.key}`;
  }

  get kind(): OutputKind {
    return this.#inner?.kind ?? 'pending';
  }

  get state(): StreamOutput['state'] {
    return this.#inner?.state ?? (this.#stopped ? 'ended' : 'waiting');
  }

  get process(): OutputProcess | undefined {
    return this.#inner?.process;
  }

  get warnings(): readonly string[] {
    return this.#inner?.warnings ?? [];
  }

  lastSegmentAt(): number | undefined {
    return this.#inner?.lastSegmentAt();
  }

  begin(after: Promise<unknown>): Promise<void> {
    this.#after = after;
    return after.then(() => undefined);
  }

  deliver(unit: MediaUnit): void {
    const inner = this.#inner;
    if (inner) {
      if (this.#live) inner.deliver(unit);
      return;
    }
    if (this.#stopped || !codecsKnownAt(unit, this.#stream.headers)) return;
    const chosen = this.#choose(() => this.#chooser.forUnits(this.#stream));
    void chosen.begin(this.#after).then(() => {
      if (this.#stopped || this.#inner !== chosen) return;
      this.#live = true;
      for (const startup of this.#stream.startupUnits()) chosen.deliver(startup);
    });
  }

  async startRaw(input: RawInput): Promise<void> {
    if (this.#stopped) return;
    const chosen = this.#inner ?? this.#choose(() => this.#chooser.forRaw(this.#stream));
    await chosen.begin(this.#after);
    this.#live = true;
    await chosen.startRaw(input);
  }

  writeRaw(chunk: Buffer): RawWrite {
    return this.#inner ? this.#inner.writeRaw(chunk) : 'ok';
  }

  onceDrained(listener: () => void): void {
    if (this.#inner) this.#inner.onceDrained(listener);
    else listener();
  }

  end(reason: EndReason): void {
    void this.stop(reason);
  }

  restartForNewPublisher(): void {
    this.#inner?.restartForNewPublisher();
  }

  async stop(reason: EndReason | 'shutdown'): Promise<void> {
    this.#stopped = true;
    await this.#inner?.stop(reason);
  }

  async removeFiles(): Promise<void> {
    await this.#inner?.removeFiles();
  }

  #choose(build: () => StreamOutput): StreamOutput {
    this.#inner = build();
    return this.#inner;
  }
}
