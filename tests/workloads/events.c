/*
 * Events: a submit whose vkCmdWaitEvents waits for an event the host sets
 * later (the fence must stay unsignaled until then); vkCmdSetEvent +
 * vkCmdWaitEvents inside one command buffer; host vkGetEventStatus,
 * vkSetEvent and vkResetEvent.
 */
#include <time.h>

#include "common.h"

#define WORDS 1024

static VkEvent event_new(struct ctx *c) {
  VkEventCreateInfo eci = {.sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO};
  VkEvent e;
  CHECK(vkCreateEvent(c->dev, &eci, NULL, &e));
  return e;
}

int main(void) {
  struct ctx c;
  ctx_init(&c, "events", NULL, NULL);
  VkBufferUsageFlags usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  struct buffer a = buffer_new(&c, WORDS * 4, usage, HOST_MEM);
  struct buffer b = buffer_new(&c, WORDS * 4, usage, HOST_MEM);
  uint32_t *wa = a.map, *wb = b.map;

  /* host -> device */
  VkEvent host = event_new(&c);
  EXPECT(vkGetEventStatus(c.dev, host) == VK_EVENT_RESET, "new event is set");
  VkCommandBuffer cmd = cmd_begin(&c);
  vkCmdWaitEvents(cmd, 1, &host, VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                  NULL, 0, NULL, 0, NULL);
  vkCmdFillBuffer(cmd, a.buf, 0, VK_WHOLE_SIZE, 0xe1e1e1e1);
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  CHECK(vkEndCommandBuffer(cmd));
  VkFence f = fence_new(&c, 0);
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &cmd};
  CHECK(vkQueueSubmit(c.queue, 1, &si, f));
  nanosleep(&(struct timespec){0, 20000000}, NULL); /* 20 ms: the device must still wait */
  EXPECT(vkGetFenceStatus(c.dev, f) == VK_NOT_READY, "device went past an unset event");
  CHECK(vkSetEvent(c.dev, host));
  EXPECT(vkGetEventStatus(c.dev, host) == VK_EVENT_SET, "host-set event reads as reset");
  CHECK(vkWaitForFences(c.dev, 1, &f, VK_TRUE, 5 * SECOND));
  invalidate(&c, a.mem);
  for (uint32_t i = 0; i < WORDS; i++) EXPECT(wa[i] == 0xe1e1e1e1, "word %u not filled", i);
  CHECK(vkResetEvent(c.dev, host));
  EXPECT(vkGetEventStatus(c.dev, host) == VK_EVENT_RESET, "reset event reads as set");
  printf("RESULT events host_set=ok\n");

  /* device -> device, and the host sees the device's set */
  VkEvent dev = event_new(&c);
  cmd = cmd_begin(&c);
  vkCmdFillBuffer(cmd, a.buf, 0, VK_WHOLE_SIZE, 0xe2e2e2e2);
  vkCmdSetEvent(cmd, dev, VK_PIPELINE_STAGE_TRANSFER_BIT);
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT};
  vkCmdWaitEvents(cmd, 1, &dev, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 1,
                  &mb, 0, NULL, 0, NULL);
  VkBufferCopy region = {0, 0, WORDS * 4};
  vkCmdCopyBuffer(cmd, a.buf, b.buf, 1, &region);
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  cmd_finish(&c, cmd);
  invalidate(&c, b.mem);
  for (uint32_t i = 0; i < WORDS; i++) EXPECT(wb[i] == 0xe2e2e2e2, "word %u not copied", i);
  EXPECT(vkGetEventStatus(c.dev, dev) == VK_EVENT_SET, "device-set event reads as reset");
  CHECK(vkResetEvent(c.dev, dev));
  EXPECT(vkGetEventStatus(c.dev, dev) == VK_EVENT_RESET, "reset event reads as set");

  /* vkCmdResetEvent on the device */
  CHECK(vkSetEvent(c.dev, dev));
  cmd = cmd_begin(&c);
  vkCmdResetEvent(cmd, dev, VK_PIPELINE_STAGE_TRANSFER_BIT);
  cmd_finish(&c, cmd);
  EXPECT(vkGetEventStatus(c.dev, dev) == VK_EVENT_RESET, "device-reset event reads as set");
  printf("RESULT events device_set=ok device_reset=ok\n");

  vkDestroyFence(c.dev, f, NULL);
  vkDestroyEvent(c.dev, host, NULL);
  vkDestroyEvent(c.dev, dev, NULL);
  buffer_free(&c, &a);
  buffer_free(&c, &b);
  ctx_fini(&c);
  return 0;
}
