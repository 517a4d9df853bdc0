// A value the daemon both pushes (notifications such as backstop/modelsChanged) and answers (requests
// such as backstop/models). One connection keeps order, but a response can be read after a push that
// the daemon sent later: e.g. `Promise.all([models, getConfig])` resolves after the models answer and a
// modelsChanged that followed it. Taking the answer then would put an old picture over a newer one
// (a ready model missing from VS Code's model list until the next change). Pure, so unit tests drive it.

export class Latest<T> {
  /** Pushes seen so far: an answer asked before the last push is older than what that push brought. */
  private pushes = 0;
  private current: T | undefined;

  get value(): T | undefined {
    return this.current;
  }

  /** A pushed value: newer than any answer still in flight. */
  push(value: T): void {
    this.pushes++;
    this.current = value;
  }

  /**
   * Call before sending the request; call what it returns with the answer as soon as it arrives. It
   * keeps the answer and returns it when nothing was pushed in between, and otherwise returns the
   * pushed value, which is newer.
   */
  ask(): (answer: T) => T {
    const asked = this.pushes;
    return (answer) => {
      if (this.pushes === asked) {
        this.current = answer;
        return answer;
      }
      return this.current as T;
    };
  }
}
