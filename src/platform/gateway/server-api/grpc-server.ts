import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { FastifyInstance } from "fastify";
import type { Logger } from "../../../infra/log/logger.js";
import { projectRoot } from "../../config/project.js";
import type { ErrorCode } from "../../errors/error-codes.js";
import { callRoute } from "./server-api-routes.js";
import type { ServerMethod } from "./server-method.js";

/** The proto of the server API, in the repository. */
export const REALTIME_PROTO = join(projectRoot(), "proto", "realtime.proto");

/** How the proto is read, by the server and by clients in tests: field names as written, enums as names, 64-bit numbers as numbers. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = { keepCase: true, enums: String, longs: Number, defaults: false, oneofs: true };

/** The gRPC status of each code of the error registry. */
export const GRPC_STATUS = {
  invalid: grpc.status.INVALID_ARGUMENT,
  invalid_message: grpc.status.INVALID_ARGUMENT,
  invalid_topic: grpc.status.INVALID_ARGUMENT,
  unknown_event: grpc.status.INVALID_ARGUMENT,
  unauthorized: grpc.status.UNAUTHENTICATED,
  forbidden: grpc.status.PERMISSION_DENIED,
  not_found: grpc.status.NOT_FOUND,
  not_a_member: grpc.status.NOT_FOUND,
  not_a_participant: grpc.status.NOT_FOUND,
  "unmatched topic": grpc.status.NOT_FOUND,
  conflict: grpc.status.ALREADY_EXISTS,
  channel_full: grpc.status.RESOURCE_EXHAUSTED,
  length_required: grpc.status.INVALID_ARGUMENT,
  huddle_full: grpc.status.RESOURCE_EXHAUSTED,
  payload_too_large: grpc.status.INVALID_ARGUMENT,
  binary_unsupported: grpc.status.INVALID_ARGUMENT,
  "too many channels": grpc.status.RESOURCE_EXHAUSTED,
  too_many_topics: grpc.status.RESOURCE_EXHAUSTED,
  rate_limited: grpc.status.RESOURCE_EXHAUSTED,
  not_available: grpc.status.UNIMPLEMENTED,
  overloaded: grpc.status.UNAVAILABLE,
  shutting_down: grpc.status.UNAVAILABLE,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
} as const satisfies Record<ErrorCode, grpc.status>;

/** A running gRPC server of the server API. */
export interface RunningGrpcServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `RealtimeService` on `host:port`: each RPC calls the server API method whose `grpc`
 * name it has, through that method's HTTP route in-process (the same validation, implementation
 * and answers), with the key from the call's metadata (`x-api-key`, or `authorization: apikey
 * <key>`). A refusal is the gRPC status of its registry code, with the message as details.
 * RPCs no method serves answer UNIMPLEMENTED.
 */
export async function startGrpcServer(options: {
  readonly app: FastifyInstance;
  readonly methods: readonly ServerMethod[];
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
}): Promise<RunningGrpcServer> {
  const definition = grpc.loadPackageDefinition(await protoLoader.load(REALTIME_PROTO, PROTO_LOADER_OPTIONS));
  const service = (definition.quikchat as grpc.GrpcObject).realtime as grpc.GrpcObject;
  const realtime = (service.v1 as grpc.GrpcObject).RealtimeService as grpc.ServiceClientConstructor;
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of options.methods) {
    if (method.grpc === undefined) continue;
    implementation[method.grpc] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      void answer(options.app, method, call).then(
        (response) => callback(null, response),
        (error: grpc.ServiceError) => callback(error),
      );
    };
  }
  const server = new grpc.Server();
  server.addService(realtime.service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  options.logger.info({ port }, "gRPC server API listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // In-flight calls get a moment to finish; then whatever is left is cut.
        const force = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

async function answer(app: FastifyInstance, method: ServerMethod, call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>): Promise<Record<string, unknown>> {
  const metadata = call.metadata.getMap();
  const headers = {
    "x-api-key": typeof metadata["x-api-key"] === "string" ? metadata["x-api-key"] : undefined,
    authorization: typeof metadata.authorization === "string" ? metadata.authorization : undefined,
  };
  let params: Record<string, unknown>;
  try {
    params = method.fromGrpc?.(call.request) ?? call.request;
  } catch (error) {
    throw statusError("invalid", (error as Error).message);
  }
  const reply = await callRoute(app, method.name, params, headers);
  if (reply.error !== undefined) throw statusError(reply.error.reason, reply.error.message);
  const result = reply.result ?? {};
  return method.toGrpc?.(result) ?? result;
}

/** A refusal as grpc-js sends it: the status of its registry code, the message as details, the code itself in the `reason` trailer. */
function statusError(reason: ErrorCode, message: string): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  metadata.set("reason", reason);
  return Object.assign(new Error(message), { code: GRPC_STATUS[reason] ?? grpc.status.INTERNAL, details: message, metadata });
}
