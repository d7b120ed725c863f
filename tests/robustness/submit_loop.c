/*
 * Submits real work in a loop: two command buffers in flight, each filling a
 * host-visible buffer (vkCmdFillBuffer) that the host then checks, and a
 * fresh small allocation every iteration. `submit_loop N` runs N iterations
 * (0: until killed); prints "READY" once work is flowing.
 */
#include "rb.h"

#define SIZE (256 * 1024)

int main(int argc, char **argv) {
  unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 0;
  struct rb c;
  rb_init(&c, "submit_loop");
  VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                 .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                 .queueFamilyIndex = c.family};
  VkCommandPool pool;
  CHECK(vkCreateCommandPool(c.dev, &pci, NULL, &pool));
  VkCommandBuffer cmd[2];
  VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                     .commandPool = pool,
                                     .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                     .commandBufferCount = 2};
  CHECK(vkAllocateCommandBuffers(c.dev, &cai, cmd));
  VkBuffer buf[2];
  VkDeviceMemory mem[2];
  uint32_t *map[2];
  VkFence fence[2];
  for (int i = 0; i < 2; i++) {
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = SIZE,
                              .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT};
    CHECK(vkCreateBuffer(c.dev, &bci, NULL, &buf[i]));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c.dev, buf[i], &req);
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size,
                               .memoryTypeIndex = rb_memory_type(&c, req.memoryTypeBits, HOST_MEM)};
    CHECK(vkAllocateMemory(c.dev, &ai, NULL, &mem[i]));
    CHECK(vkBindBufferMemory(c.dev, buf[i], mem[i], 0));
    CHECK(vkMapMemory(c.dev, mem[i], 0, VK_WHOLE_SIZE, 0, (void **)&map[i]));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
                             .flags = VK_FENCE_CREATE_SIGNALED_BIT};
    CHECK(vkCreateFence(c.dev, &fci, NULL, &fence[i]));
  }
  uint32_t expect[2] = {0, 0};
  for (unsigned long it = 0; iterations == 0 || it < iterations; it++) {
    int s = it & 1;
    CHECK(vkWaitForFences(c.dev, 1, &fence[s], VK_TRUE, 10 * SECOND));
    if (it >= 2 && (map[s][0] != expect[s] || map[s][SIZE / 4 - 1] != expect[s]))
      FAIL("iteration %lu: buffer holds 0x%x, want 0x%x", it, map[s][0], expect[s]);
    CHECK(vkResetFences(c.dev, 1, &fence[s]));
    /* a short-lived allocation: new ids, new blobs */
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = 4096,
                               .memoryTypeIndex = rb_memory_type(&c, ~0u, HOST_MEM)};
    VkDeviceMemory scratch;
    CHECK(vkAllocateMemory(c.dev, &ai, NULL, &scratch));
    expect[s] = 0x1000000u + (uint32_t)it;
    CHECK(vkResetCommandBuffer(cmd[s], 0));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    CHECK(vkBeginCommandBuffer(cmd[s], &bi));
    vkCmdFillBuffer(cmd[s], buf[s], 0, VK_WHOLE_SIZE, expect[s]);
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd[s], VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    CHECK(vkEndCommandBuffer(cmd[s]));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .commandBufferCount = 1,
                       .pCommandBuffers = &cmd[s]};
    CHECK(vkQueueSubmit(c.queue, 1, &si, fence[s]));
    vkFreeMemory(c.dev, scratch, NULL);
    if (it == 8) {
      printf("READY\n");
      fflush(stdout);
    }
  }
  CHECK(vkWaitForFences(c.dev, 2, fence, VK_TRUE, 10 * SECOND));
  for (int i = 0; i < 2; i++) {
    if (map[i][0] != expect[i]) FAIL("last fill of buffer %d not seen", i);
    vkDestroyFence(c.dev, fence[i], NULL);
    vkDestroyBuffer(c.dev, buf[i], NULL);
    vkFreeMemory(c.dev, mem[i], NULL);
  }
  vkDestroyCommandPool(c.dev, pool, NULL);
  rb_fini(&c);
  printf("RESULT submit_loop iterations=%lu ok\n", iterations);
  return 0;
}
