/**
 * One training run of the page: `fit` with an AbortSignal (Reset), a PauseGate awaited at every
 * evaluation (Pause / Step), and the model at each evaluation handed to the page's views through
 * fit's `onCheckpoint` (training waits while they draw, and that time is not in steps/s).
 */
import { fit, type FlowModel, type ProgressEvent } from "normalizing-flows";
import { fitOptions, LossHistory, PauseGate, type ModelSettings, type PointSet, type RunState } from "./logic.js";

/** Steps of one run: Train runs until paused or until this many steps. */
export const MAX_STEPS = 20000;

export interface SessionCallbacks {
  /** The model at an evaluation (valid only until the returned promise settles). */
  onCheckpoint(model: FlowModel, event: ProgressEvent): Promise<void>;
  onState(state: RunState): void;
}

export class Session {
  readonly history = new LossHistory();
  readonly gate = new PauseGate();
  private readonly abort = new AbortController();
  private running: Promise<FlowModel | undefined> | undefined;
  /** The model fit returned when the run ended (owned by the session until reset). */
  finished: FlowModel | undefined;
  /** The model of the latest evaluation while the run is paused there (a view owned by fit). */
  current: FlowModel | undefined;
  steps = 0;
  stepsPerSec = 0;
  error: Error | undefined;
  private stateValue: RunState = "idle";

  constructor(
    readonly data: PointSet,
    readonly settings: ModelSettings,
    readonly evalEvery: number,
    private readonly callbacks: SessionCallbacks,
  ) {}

  get state(): RunState {
    return this.stateValue;
  }

  private set(state: RunState): void {
    this.stateValue = state;
    this.callbacks.onState(state);
  }

  /** Train (or continue): runs until Pause, Step's interval, Reset or MAX_STEPS. */
  train(): void {
    this.gate.resume();
    this.startOnce();
    if (this.state !== "done") this.set("training");
  }

  pause(): void {
    if (this.state === "training") this.gate.pause();
  }

  /** One evaluation interval (evalEvery steps), then paused. */
  step(): void {
    if (this.state === "done") return;
    this.gate.step();
    this.startOnce();
    this.set("training");
  }

  /** Stops the run and frees its model. */
  async reset(): Promise<void> {
    this.abort.abort();
    this.gate.resume();
    await this.running?.catch(() => undefined);
    this.finished?.dispose();
    this.finished = undefined;
    this.current = undefined;
  }

  private startOnce(): void {
    if (this.running) return;
    const options = fitOptions(this.settings, MAX_STEPS, this.evalEvery);
    this.running = fit(this.settings.config, { x: this.data.x, n: this.data.n, dim: 2 }, {
      ...options,
      signal: this.abort.signal,
      onCheckpoint: async (model, event) => {
        this.steps = event.step;
        if (event.stepsPerSec > 0) this.stepsPerSec = event.stepsPerSec;
        this.history.add(event);
        this.current = model;
        await this.callbacks.onCheckpoint(model, event);
        if (this.gate.isPaused) this.set("paused");
        await this.gate.checkpoint();
        this.current = undefined;
        if (!this.abort.signal.aborted) this.set("training");
      },
    }).then(
      (model) => {
        if (this.abort.signal.aborted) {
          model.dispose();
          return undefined;
        }
        this.finished = model;
        this.steps = model.training?.steps ?? this.steps;
        this.set("done");
        return model;
      },
      (e: unknown) => {
        this.error = e instanceof Error ? e : new Error(String(e));
        this.set("done");
        return undefined;
      },
    );
  }
}
