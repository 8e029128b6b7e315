/** A failure of the local stack whose message is one line telling the user what to do. */
export class StackError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StackError";
  }
}
