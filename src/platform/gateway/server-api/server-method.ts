/** The actor of commands issued through the server API: backends act as the service itself. */
export const SERVER_ACTOR = "system:server-api";

/**
 * One method of the server API, the API backends call with an API key (Centrifugo's server API
 * shapes). Each context contributes its methods through its gateway part; the platform serves
 * every one on `POST /api/server/<name>` (JSON, `{result}` or `{error}`), in `batch`, and on
 * gRPC `RealtimeService/<grpc>` when it has a gRPC name.
 */
export interface ServerMethod {
  /** snake_case: the HTTP path segment and the key of a `batch` command. */
  readonly name: string;
  /** The RPC of `RealtimeService` in `proto/realtime.proto` that calls it, if any. */
  readonly grpc?: string;
  readonly description: string;
  /** JSON schema of `params` (an object): validated before `call`, and published in the OpenAPI document. */
  readonly params: Readonly<Record<string, unknown>>;
  /** JSON schema of `result` (an object). */
  readonly result: Readonly<Record<string, unknown>>;
  /**
   * Performs the call; rejects with a `ServiceError` whose code the transports map (the
   * registry's status, gRPC status). Writes are commands awaited through the command bus.
   */
  call(params: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** From a gRPC request to `params` (JSON-typed fields travel as JSON text in the proto); identity by default. */
  fromGrpc?(request: Record<string, unknown>): Record<string, unknown>;
  /** From `result` to the gRPC response; identity by default. */
  toGrpc?(result: Record<string, unknown>): Record<string, unknown>;
}
