/*
 * Synchronization: fences (status before/after, reset, created signaled,
 * wait on several), binary semaphores between two submits (fill -> copy),
 * timeline semaphores (a submit waiting for a value the host signals later,
 * host waits, counter values, a timed-out wait).
 */
#include "common.h"

#define WORDS 1024

static VkSemaphore semaphore_new(struct ctx *c, VkSemaphoreType type, uint64_t initial) {
  VkSemaphoreTypeCreateInfo tci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                                   .semaphoreType = type,
                                   .initialValue = initial};
  VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &tci};
  VkSemaphore s;
  CHECK(vkCreateSemaphore(c->dev, &sci, NULL, &s));
  return s;
}

/* A recorded (not one-time) command buffer filling `b` with `value`. */
static VkCommandBuffer fill_cmd(struct ctx *c, struct buffer *b, uint32_t value) {
  VkCommandBuffer cmd = cmd_alloc(c, VK_COMMAND_BUFFER_LEVEL_PRIMARY);
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  CHECK(vkBeginCommandBuffer(cmd, &bi));
  vkCmdFillBuffer(cmd, b->buf, 0, VK_WHOLE_SIZE, value);
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  CHECK(vkEndCommandBuffer(cmd));
  return cmd;
}

static void expect_filled(struct ctx *c, struct buffer *b, uint32_t value, const char *what) {
  invalidate(c, b->mem);
  const uint32_t *w = b->map;
  for (uint32_t i = 0; i < WORDS; i++)
    EXPECT(w[i] == value, "%s: word %u is 0x%08x, want 0x%08x", what, i, w[i], value);
}

int main(void) {
  VkPhysicalDeviceVulkan12Features f12 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
      .timelineSemaphore = VK_TRUE};
  struct ctx c;
  ctx_init(&c, "sync", &f12, NULL);
  VkBufferUsageFlags usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  struct buffer a = buffer_new(&c, WORDS * 4, usage, HOST_MEM);
  struct buffer b = buffer_new(&c, WORDS * 4, usage, HOST_MEM);

  /* fences */
  VkFence f = fence_new(&c, 0), on = fence_new(&c, 1);
  EXPECT(vkGetFenceStatus(c.dev, f) == VK_NOT_READY, "new fence is signaled");
  EXPECT(vkGetFenceStatus(c.dev, on) == VK_SUCCESS, "fence created signaled is not");
  EXPECT(vkWaitForFences(c.dev, 1, &f, VK_TRUE, 0) == VK_TIMEOUT, "wait on idle fence: no timeout");
  VkCommandBuffer fill1 = fill_cmd(&c, &a, 0x11111111);
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &fill1};
  CHECK(vkQueueSubmit(c.queue, 1, &si, f));
  VkFence both[2] = {f, on};
  CHECK(vkWaitForFences(c.dev, 2, both, VK_TRUE, 5 * SECOND));
  EXPECT(vkGetFenceStatus(c.dev, f) == VK_SUCCESS, "fence not signaled after the wait");
  expect_filled(&c, &a, 0x11111111, "fenced fill");
  CHECK(vkResetFences(c.dev, 2, both));
  EXPECT(vkGetFenceStatus(c.dev, f) == VK_NOT_READY && vkGetFenceStatus(c.dev, on) == VK_NOT_READY,
         "reset fences still signaled");
  CHECK(vkQueueSubmit(c.queue, 0, NULL, on)); /* an empty submit signals a fence too */
  CHECK(vkWaitForFences(c.dev, 1, &on, VK_TRUE, 5 * SECOND));
  printf("RESULT sync fences=ok\n");

  /* binary semaphore: submit 1 fills a, submit 2 waits for it and copies a -> b */
  VkSemaphore bin = semaphore_new(&c, VK_SEMAPHORE_TYPE_BINARY, 0);
  VkCommandBuffer fill2 = fill_cmd(&c, &a, 0x22222222);
  VkCommandBuffer copy = cmd_alloc(&c, VK_COMMAND_BUFFER_LEVEL_PRIMARY);
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  CHECK(vkBeginCommandBuffer(copy, &bi));
  VkBufferCopy region = {0, 0, WORDS * 4};
  vkCmdCopyBuffer(copy, a.buf, b.buf, 1, &region);
  memory_barrier(copy, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  CHECK(vkEndCommandBuffer(copy));
  VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
  VkSubmitInfo s1 = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &fill2,
                     .signalSemaphoreCount = 1,
                     .pSignalSemaphores = &bin};
  VkSubmitInfo s2 = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .waitSemaphoreCount = 1,
                     .pWaitSemaphores = &bin,
                     .pWaitDstStageMask = &stage,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &copy};
  CHECK(vkQueueSubmit(c.queue, 1, &s1, VK_NULL_HANDLE));
  CHECK(vkQueueSubmit(c.queue, 1, &s2, f));
  CHECK(vkWaitForFences(c.dev, 1, &f, VK_TRUE, 5 * SECOND));
  expect_filled(&c, &b, 0x22222222, "copy after the semaphore");
  printf("RESULT sync binary_semaphore=ok\n");

  /* timeline: the device waits for 1 (signaled by the host), then signals 2 */
  VkSemaphore tl = semaphore_new(&c, VK_SEMAPHORE_TYPE_TIMELINE, 0);
  VkCommandBuffer fill3 = fill_cmd(&c, &b, 0x33333333);
  uint64_t wait_value = 1, signal_value = 2;
  VkTimelineSemaphoreSubmitInfo tsi = {.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
                                       .waitSemaphoreValueCount = 1,
                                       .pWaitSemaphoreValues = &wait_value,
                                       .signalSemaphoreValueCount = 1,
                                       .pSignalSemaphoreValues = &signal_value};
  VkSubmitInfo s3 = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .pNext = &tsi,
                     .waitSemaphoreCount = 1,
                     .pWaitSemaphores = &tl,
                     .pWaitDstStageMask = &stage,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &fill3,
                     .signalSemaphoreCount = 1,
                     .pSignalSemaphores = &tl};
  CHECK(vkQueueSubmit(c.queue, 1, &s3, VK_NULL_HANDLE));
  uint64_t value = 99;
  CHECK(vkGetSemaphoreCounterValue(c.dev, tl, &value));
  EXPECT(value == 0, "timeline at %llu before the host signal", (unsigned long long)value);
  VkSemaphoreWaitInfo wi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
                            .semaphoreCount = 1,
                            .pSemaphores = &tl,
                            .pValues = &signal_value};
  EXPECT(vkWaitSemaphores(c.dev, &wi, 1000000) == VK_TIMEOUT, "device ran before the host signal");
  VkSemaphoreSignalInfo sig = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
                               .semaphore = tl,
                               .value = 1};
  CHECK(vkSignalSemaphore(c.dev, &sig));
  CHECK(vkWaitSemaphores(c.dev, &wi, 5 * SECOND));
  CHECK(vkGetSemaphoreCounterValue(c.dev, tl, &value));
  EXPECT(value == 2, "timeline at %llu, want 2", (unsigned long long)value);
  expect_filled(&c, &b, 0x33333333, "fill after the timeline wait");
  uint64_t far = 3;
  wi.pValues = &far;
  EXPECT(vkWaitSemaphores(c.dev, &wi, 0) == VK_TIMEOUT, "wait for 3 did not time out");
  printf("RESULT sync timeline_semaphore=ok value=%llu\n", (unsigned long long)value);

  CHECK(vkQueueWaitIdle(c.queue));
  vkDestroySemaphore(c.dev, tl, NULL);
  vkDestroySemaphore(c.dev, bin, NULL);
  vkDestroyFence(c.dev, f, NULL);
  vkDestroyFence(c.dev, on, NULL);
  buffer_free(&c, &a);
  buffer_free(&c, &b);
  ctx_fini(&c);
  return 0;
}
