import { CompressionTypes } from "kafkajs";
import type { Pool } from "mysql2/promise";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { createIdempotentProducer } from "../../../../infra/kafka/kafkajs-client.js";
import { tablePrefixOf } from "../../../../infra/mysql/mysql-pool.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import { deadLetterRecord } from "../../../../platform/processor/dead-letter.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { MysqlChannelStore } from "../../../channels/projections/channels/mysql-channel-store.js";
import { MysqlMembershipStore } from "../../../conversations/projections/membership/mysql-membership-store.js";
import { reactionsTo } from "../../user-reactions.js";
import { RedisProfilesStore, USERS_PROJECTION } from "./redis-profiles-store.js";

/**
 * Consumes the upstream `quikapp.users.events` (Avro through the registry, like our topics):
 * keeps the users read model ({@link RedisProfilesStore}) and reacts to each event with this
 * service's commands ({@link reactionsTo}: a deleted user is disconnected everywhere, its tokens
 * refused, and it leaves its conversations).
 *
 * The commands of a batch are produced (acknowledged by every replica) before the batch's
 * records and checkpoint commit in Redis: a crash between the two redelivers the records, whose
 * commands carry the same ids and are answered as duplicates (or find their work done). So no
 * reaction is lost, and a rebuild of the read model (`quikchat projections rebuild users`,
 * which applies without reacting) issues nothing. A record that does not decode goes whole to
 * `quikapp.users.dlq` with the error, and the partition keeps flowing.
 */
export async function startUpstreamUsersProjection(deps: Omit<RedisProjectionDeps, "redis"> & { readonly pool: Pool }): Promise<ProjectionRuntime> {
  const { config, codec } = deps;
  const prefix = config.kafka.topicPrefix;
  const membership = new MysqlMembershipStore(deps.pool, tablePrefixOf(prefix));
  const channels = new MysqlChannelStore(deps.pool, tablePrefixOf(prefix));
  // The memberships and subscriptions come from the membership and channels projections' tables:
  // make sure they exist whichever starts first.
  await membership.ensureSchema();
  await channels.ensureSchema();
  const producer = createIdempotentProducer(config.kafka, deps.logger);
  await producer.connect();

  const react = async (records: readonly ConsumedRecord[]) => {
    const reactions = [];
    for (const record of records) {
      const event = eventOf(record, "users");
      if (event === undefined) continue;
      const deleted = event.type === "UserDeleted";
      const memberships = {
        conversations: deleted ? await membership.conversationsOf(event.data.userId) : [],
        channels: deleted ? await channels.channelsOf(event.data.userId) : [],
      };
      reactions.push(...reactionsTo(event, memberships));
    }
    if (reactions.length === 0) return;
    await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: reactions.map(({ context, type, key, command }) => ({
        topic: prefix + TOPICS[context].commands,
        messages: [{ key, value: codec.encode(`quikchat.${context}.${type}`, command) }],
      })),
    });
  };

  // Its onClose disconnects the producer, also when the projection fails to start.
  return startRedisProjection(deps, {
    name: USERS_PROJECTION,
    topic: TOPICS.users.events,
    store: (own) => new RedisProfilesStore(own, prefix),
    beforeApply: react,
    afterCommit: async () => undefined,
    deadLetter: async (message, error) => {
      const { topic, key, value, headers } = deadLetterRecord(prefix + TOPICS.users.dlq, message, "undecodable", error);
      await producer.send({ topic, acks: -1, messages: [{ key, value, ...(headers === undefined ? {} : { headers: { ...headers } }) }] });
    },
    onClose: () => producer.disconnect(),
  });
}
