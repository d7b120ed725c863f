/*
 * Buffers and mapped memory: host writes through vkMapMemory + flush,
 * vkCmdFillBuffer, vkCmdCopyBuffer, vkCmdUpdateBuffer, invalidate + host
 * reads; then a memory mapped again at an offset. Every word is checked.
 */
#include "common.h"

#define WORDS 16384 /* 64 KiB per buffer */

static uint32_t pattern(uint32_t i) { return i * 2654435761u ^ 0x5a5a5a5au; }

int main(void) {
  struct ctx c;
  ctx_init(&c, "buffer", NULL, NULL);
  VkBufferUsageFlags usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
  struct buffer src = buffer_new(&c, WORDS * 4, usage, host);
  struct buffer dst = buffer_new(&c, WORDS * 4, usage, host);

  /* host writes, flushed (a no-op on coherent memory, required otherwise) */
  uint32_t *s = src.map, *d = dst.map;
  for (uint32_t i = 0; i < WORDS; i++) s[i] = pattern(i);
  memset(d, 0, WORDS * 4);
  flush(&c, src.mem);
  flush(&c, dst.mem);

  uint32_t update[4] = {0xcafe0001, 0xcafe0002, 0xcafe0003, 0xcafe0004};
  VkCommandBuffer cmd = cmd_begin(&c);
  vkCmdFillBuffer(cmd, dst.buf, 1024 * 4, 2048 * 4, 0xdeadbeef);
  VkBufferCopy regions[2] = {{.srcOffset = 0, .dstOffset = 4096 * 4, .size = 4096 * 4},
                             {.srcOffset = 12288 * 4, .dstOffset = 0, .size = 1024 * 4}};
  vkCmdCopyBuffer(cmd, src.buf, dst.buf, 2, regions);
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
  vkCmdUpdateBuffer(cmd, dst.buf, 4096 * 4, sizeof(update), update); /* over the copy */
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  cmd_finish(&c, cmd);
  invalidate(&c, dst.mem);

  for (uint32_t i = 0; i < WORDS; i++) {
    uint32_t want = 0;
    if (i < 1024) want = pattern(12288 + i);
    else if (i < 3072) want = 0xdeadbeef;
    else if (i >= 4096 && i < 4100) want = update[i - 4096];
    else if (i >= 4096 && i < 8192) want = pattern(i - 4096);
    EXPECT(d[i] == want, "word %u is 0x%08x, want 0x%08x", i, d[i], want);
  }
  printf("RESULT buffer words=%u fnv=0x%08x\n", WORDS, fnv1a(d, WORDS * 4));

  /* map again, at an offset: the same bytes must show through */
  vkUnmapMemory(c.dev, dst.mem);
  void *p;
  CHECK(vkMapMemory(c.dev, dst.mem, 4096 * 4, 8192, 0, &p));
  EXPECT(((uint32_t *)p)[0] == update[0] && ((uint32_t *)p)[4] == pattern(4),
         "remapped memory at offset 16384 shows 0x%08x 0x%08x", ((uint32_t *)p)[0],
         ((uint32_t *)p)[4]);
  ((uint32_t *)p)[100] = 0x12345678; /* host write through the second mapping ... */
  VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                           .memory = dst.mem,
                           .offset = 4096 * 4,
                           .size = 8192};
  CHECK(vkFlushMappedMemoryRanges(c.dev, 1, &r));
  cmd = cmd_begin(&c); /* ... read back by the device */
  VkBufferCopy back = {.srcOffset = (4096 + 100) * 4, .dstOffset = 0, .size = 4};
  vkCmdCopyBuffer(cmd, dst.buf, src.buf, 1, &back);
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  cmd_finish(&c, cmd);
  invalidate(&c, src.mem);
  EXPECT(s[0] == 0x12345678, "device read 0x%08x from the remapped write", s[0]);
  printf("RESULT buffer remap=ok device_read=0x%08x\n", s[0]);

  vkUnmapMemory(c.dev, dst.mem);
  buffer_free(&c, &src);
  buffer_free(&c, &dst);
  ctx_fini(&c);
  return 0;
}
