import { ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

export interface ShardInfo {
  shardId: string;
  /** The parent (split) or parents (merge); empty for an original shard. */
  parentShardIds: string[];
}

/**
 * Every shard of the stream, open or closed, with its parents, through every ListShards page.
 * Used by `pipeline replay` (which shards to read) and the local cloud's Kinesis mapping.
 */
export async function listShards(kinesis: KinesisClient, streamName: string): Promise<ShardInfo[]> {
  const shards: ShardInfo[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kinesis.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }));
    for (const shard of page.Shards ?? []) {
      if (!shard.ShardId) continue;
      const parentShardIds = [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => typeof id === 'string' && id !== '');
      shards.push({ shardId: shard.ShardId, parentShardIds });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return shards;
}
