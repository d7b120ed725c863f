/*
 * Sync objects with no device memory at all (so it can run where the render
 * server cannot export memory): fences on empty submits and on command
 * buffers holding only barriers, a binary semaphore between two submits, a
 * timeline semaphore the device waits on and signals while the host signals
 * and waits, and events set/reset by the host and by the device.
 */
#include "common.h"

/* A command buffer with a barrier and, optionally, a vkCmdSetEvent. */
static VkCommandBuffer barrier_cmd(struct ctx *c, VkEvent set) {
  VkCommandBuffer cmd = cmd_alloc(c, VK_COMMAND_BUFFER_LEVEL_PRIMARY);
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  CHECK(vkBeginCommandBuffer(cmd, &bi));
  memory_barrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT,
                 VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_READ_BIT);
  if (set) vkCmdSetEvent(cmd, set, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT);
  CHECK(vkEndCommandBuffer(cmd));
  return cmd;
}

int main(void) {
  VkPhysicalDeviceVulkan12Features f12 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
      .timelineSemaphore = VK_TRUE};
  struct ctx c;
  ctx_init(&c, "nomem", &f12, NULL);

  VkFence f = fence_new(&c, 0);
  EXPECT(vkGetFenceStatus(c.dev, f) == VK_NOT_READY, "new fence is signaled");
  CHECK(vkQueueSubmit(c.queue, 0, NULL, f));
  CHECK(vkWaitForFences(c.dev, 1, &f, VK_TRUE, 5 * SECOND));
  CHECK(vkResetFences(c.dev, 1, &f));
  EXPECT(vkGetFenceStatus(c.dev, f) == VK_NOT_READY, "reset fence is signaled");

  /* binary semaphore: a signals, b waits */
  VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  VkSemaphore bin;
  CHECK(vkCreateSemaphore(c.dev, &sci, NULL, &bin));
  VkCommandBuffer a = barrier_cmd(&c, VK_NULL_HANDLE), b = barrier_cmd(&c, VK_NULL_HANDLE);
  VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
  VkSubmitInfo s[2] = {{.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                        .commandBufferCount = 1,
                        .pCommandBuffers = &a,
                        .signalSemaphoreCount = 1,
                        .pSignalSemaphores = &bin},
                       {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                        .waitSemaphoreCount = 1,
                        .pWaitSemaphores = &bin,
                        .pWaitDstStageMask = &stage,
                        .commandBufferCount = 1,
                        .pCommandBuffers = &b}};
  CHECK(vkQueueSubmit(c.queue, 2, s, f));
  CHECK(vkWaitForFences(c.dev, 1, &f, VK_TRUE, 5 * SECOND));
  printf("RESULT nomem fences=ok binary_semaphore=ok\n");

  /* timeline: device waits for 5 (host), signals 7; host waits for 7 */
  VkSemaphoreTypeCreateInfo tci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                                   .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
                                   .initialValue = 3};
  sci.pNext = &tci;
  VkSemaphore tl;
  CHECK(vkCreateSemaphore(c.dev, &sci, NULL, &tl));
  uint64_t wait_value = 5, signal_value = 7, value = 0;
  VkTimelineSemaphoreSubmitInfo tsi = {.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
                                       .waitSemaphoreValueCount = 1,
                                       .pWaitSemaphoreValues = &wait_value,
                                       .signalSemaphoreValueCount = 1,
                                       .pSignalSemaphoreValues = &signal_value};
  VkSubmitInfo ts = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .pNext = &tsi,
                     .waitSemaphoreCount = 1,
                     .pWaitSemaphores = &tl,
                     .pWaitDstStageMask = &stage,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &a,
                     .signalSemaphoreCount = 1,
                     .pSignalSemaphores = &tl};
  CHECK(vkQueueSubmit(c.queue, 1, &ts, VK_NULL_HANDLE));
  CHECK(vkGetSemaphoreCounterValue(c.dev, tl, &value));
  EXPECT(value == 3, "timeline at %llu, want 3", (unsigned long long)value);
  VkSemaphoreWaitInfo wi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
                            .semaphoreCount = 1,
                            .pSemaphores = &tl,
                            .pValues = &signal_value};
  EXPECT(vkWaitSemaphores(c.dev, &wi, 1000000) == VK_TIMEOUT, "device ran before the host signal");
  VkSemaphoreSignalInfo sig = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
                               .semaphore = tl,
                               .value = 5};
  CHECK(vkSignalSemaphore(c.dev, &sig));
  CHECK(vkWaitSemaphores(c.dev, &wi, 5 * SECOND));
  CHECK(vkGetSemaphoreCounterValue(c.dev, tl, &value));
  EXPECT(value == 7, "timeline at %llu, want 7", (unsigned long long)value);
  printf("RESULT nomem timeline_semaphore=ok value=%llu\n", (unsigned long long)value);

  /* events */
  VkEventCreateInfo eci = {.sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO};
  VkEvent ev;
  CHECK(vkCreateEvent(c.dev, &eci, NULL, &ev));
  EXPECT(vkGetEventStatus(c.dev, ev) == VK_EVENT_RESET, "new event is set");
  CHECK(vkSetEvent(c.dev, ev));
  EXPECT(vkGetEventStatus(c.dev, ev) == VK_EVENT_SET, "host-set event reads as reset");
  CHECK(vkResetEvent(c.dev, ev));
  VkCommandBuffer e = barrier_cmd(&c, ev);
  CHECK(vkResetFences(c.dev, 1, &f));
  VkSubmitInfo es = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &e};
  CHECK(vkQueueSubmit(c.queue, 1, &es, f));
  CHECK(vkWaitForFences(c.dev, 1, &f, VK_TRUE, 5 * SECOND));
  EXPECT(vkGetEventStatus(c.dev, ev) == VK_EVENT_SET, "device-set event reads as reset");
  printf("RESULT nomem events=ok\n");

  CHECK(vkQueueWaitIdle(c.queue));
  vkDestroyEvent(c.dev, ev, NULL);
  vkDestroySemaphore(c.dev, tl, NULL);
  vkDestroySemaphore(c.dev, bin, NULL);
  vkDestroyFence(c.dev, f, NULL);
  ctx_fini(&c);
  return 0;
}
