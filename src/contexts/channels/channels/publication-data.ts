import { ServiceError } from "../../../platform/errors/error-codes.js";
import { CHANNEL_LIMITS } from "../domain/decide.js";

/**
 * The JSON text of a publication's `data`, from a client push or a server API call: any JSON
 * value but null, at most `CHANNEL_LIMITS.dataLength` characters once encoded. Throws `invalid`.
 */
export function publicationData(data: unknown): string {
  if (data === undefined || data === null) throw new ServiceError("invalid", "data is required");
  const json = JSON.stringify(data);
  if (json.length > CHANNEL_LIMITS.dataLength) throw new ServiceError("invalid", `data must be at most ${CHANNEL_LIMITS.dataLength} characters of JSON`);
  return json;
}
