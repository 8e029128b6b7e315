import type { Logger } from "../../../infra/log/logger.js";
import type { PresenceDiffDelta, PresenceEntries } from "../projections/presence/presence-model.js";
import type { ChannelOutlet } from "../../../platform/phoenix/channel.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import { DiffAccumulator, type PresenceDiff } from "../presence-diff.js";

/**
 * One kind of presence the rooms serve, each presence named by a `Key` (a workspace, a topic of a
 * workspace): where its diffs are published, and its current state.
 */
export interface PresenceSource<Key> {
  /** The Redis pub/sub channel of the presence's {@link PresenceDiffDelta}s; one per key. */
  channelOf(key: Key): string;
  /** The presence's `presence_state`, as the read model last committed it. */
  state(key: Key): Promise<PresenceEntries>;
}

interface Member {
  readonly outlet: ChannelOutlet;
  /** Diffs flushed before this member's presence_state went out; undefined once it has. */
  held: PresenceDiff[] | undefined;
}

interface Room<Key> {
  readonly key: Key;
  readonly channel: string;
  readonly members: Set<Member>;
  readonly pending: DiffAccumulator;
  readonly subscribed: Promise<() => void>;
  lastFlush: number;
  timer: NodeJS.Timeout | undefined;
  /** Resyncs reading the state: diffs wait until it is out. */
  resyncing: number;
}

/**
 * The joined channels of this gateway that show one kind of presence (the workspace's on
 * `presence:<workspaceId>`, a topic's viewers on `comments:<videoId>`), one room per presence
 * with joined channels. A room follows the presence's deltas (subscribed before any member reads
 * its state, so nothing falls between the state and the diffs) and pushes them to every member
 * as Phoenix.Presence `presence_diff`s, merged over `intervalMs`: the first change after a quiet
 * window goes out at once, the changes that follow within the window together at its end. A
 * mass reconnect of N users therefore costs each socket one diff per window, not N.
 *
 * Each join gets one `presence_state`, then every diff flushed after it registered. Diffs that
 * the state already includes are harmless to re-apply (joins are keyed by `phx_ref`, and a
 * meta's leave always follows its join). After Redis pub/sub reconnects, and when the projection
 * says it caught up without publishing diffs (`resync`), every member gets a fresh
 * `presence_state`, which the Phoenix client reconciles into joins and leaves; the diffs that
 * arrive while that state is read go out after it, since the state may predate them.
 */
export class PresenceRooms<Key> {
  /** By channel: one per key. */
  private readonly rooms = new Map<string, Room<Key>>();

  constructor(
    private readonly hub: ChannelSource,
    private readonly source: PresenceSource<Key>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers `outlet` in the room of `key` and pushes its presence_state; resolves with the function that leaves. */
  async enter(key: Key, outlet: ChannelOutlet): Promise<() => void> {
    const room = this.roomOf(key);
    const member: Member = { outlet, held: [] };
    room.members.add(member);
    const leave = () => this.leave(room, member);
    try {
      await room.subscribed;
      outlet.push("presence_state", await this.source.state(key));
    } catch (error) {
      leave();
      throw error;
    }
    for (const diff of member.held ?? []) outlet.push("presence_diff", diff);
    member.held = undefined;
    return leave;
  }

  /** Presences with joined channels here. */
  get size(): number {
    return this.rooms.size;
  }

  private roomOf(key: Key): Room<Key> {
    const channel = this.source.channelOf(key);
    const existing = this.rooms.get(channel);
    if (existing !== undefined) return existing;
    const room: Room<Key> = {
      key,
      channel,
      members: new Set(),
      pending: new DiffAccumulator(),
      lastFlush: 0,
      timer: undefined,
      resyncing: 0,
      subscribed: this.hub.listen(channel, {
        onMessage: (message) => {
          const delta = parseMessage<PresenceDiffDelta>(message, channel, this.logger);
          if (delta !== undefined) this.receive(room, delta);
        },
        onResync: () => void this.resync(room),
      }),
    };
    room.subscribed.catch(() => this.rooms.get(channel) === room && this.rooms.delete(channel));
    this.rooms.set(channel, room);
    return room;
  }

  private receive(room: Room<Key>, delta: PresenceDiffDelta): void {
    if (delta.resync === true) return void this.resync(room);
    room.pending.add(delta);
    if (room.timer !== undefined) return;
    const wait = room.lastFlush + this.intervalMs - this.now();
    if (wait <= 0) {
      // Leading edge: one change after a quiet window goes out at once (still after the current tick's deltas).
      room.timer = setTimeout(() => this.flush(room), 0);
    } else {
      room.timer = setTimeout(() => this.flush(room), wait);
    }
  }

  private flush(room: Room<Key>): void {
    room.timer = undefined;
    if (room.resyncing > 0) return;
    room.lastFlush = this.now();
    if (room.pending.empty) return;
    const diff = room.pending.take();
    for (const member of room.members) {
      if (member.held !== undefined) member.held.push(diff);
      else member.outlet.push("presence_diff", diff);
    }
  }

  private async resync(room: Room<Key>): Promise<void> {
    // Diffs received so far were committed before the state is read: it includes them. Members
    // still waiting for their own, older, state get them as they would have.
    const anyIncluded = !room.pending.empty;
    const included = room.pending.take();
    if (anyIncluded) for (const member of room.members) member.held?.push(included);
    room.resyncing += 1;
    try {
      const state = await this.source.state(room.key);
      for (const member of room.members) if (member.held === undefined) member.outlet.push("presence_state", state);
    } catch (error) {
      this.logger.warn({ err: error, channel: room.channel }, "presence resync failed");
      const later = room.pending.take();
      room.pending.add(included);
      room.pending.add(later);
    } finally {
      room.resyncing -= 1;
      if (room.resyncing === 0 && room.timer === undefined && !room.pending.empty) room.timer = setTimeout(() => this.flush(room), 0);
    }
  }

  private leave(room: Room<Key>, member: Member): void {
    if (!room.members.delete(member) || room.members.size > 0) return;
    if (this.rooms.get(room.channel) === room) this.rooms.delete(room.channel);
    clearTimeout(room.timer);
    room.subscribed.then((unsubscribe) => unsubscribe()).catch(() => undefined);
  }
}
