/*
 * Objects created and destroyed in a loop: every round makes and frees a
 * fence, semaphores, an event, a buffer with mapped host-visible memory, an
 * image with a view, a sampler, a query pool, descriptor and pipeline
 * layouts, a descriptor pool with a set, a command pool with command buffers
 * (submitted); every 8 rounds the device, and (with `instances` > 1) the
 * whole instance — a new context on the server — is recreated.
 *   object_churn [rounds per device] [devices per instance] [instances]
 */
#include "rb.h"

static void round_trip(struct rb *c, unsigned round) {
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence;
  CHECK(vkCreateFence(c->dev, &fci, NULL, &fence));
  VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  VkSemaphore sem;
  CHECK(vkCreateSemaphore(c->dev, &sci, NULL, &sem));
  VkEventCreateInfo eci = {.sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO};
  VkEvent ev;
  CHECK(vkCreateEvent(c->dev, &eci, NULL, &ev));
  CHECK(vkSetEvent(c->dev, ev));
  if (vkGetEventStatus(c->dev, ev) != VK_EVENT_SET) FAIL("round %u: event not set", round);

  VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                            .size = 65536,
                            .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                     VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
  VkBuffer buf;
  CHECK(vkCreateBuffer(c->dev, &bci, NULL, &buf));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(c->dev, buf, &req);
  VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                             .allocationSize = req.size,
                             .memoryTypeIndex = rb_memory_type(c, req.memoryTypeBits, HOST_MEM)};
  VkDeviceMemory mem;
  CHECK(vkAllocateMemory(c->dev, &ai, NULL, &mem));
  CHECK(vkBindBufferMemory(c->dev, buf, mem, 0));
  uint32_t *p;
  CHECK(vkMapMemory(c->dev, mem, 0, VK_WHOLE_SIZE, 0, (void **)&p));
  p[0] = round;

  VkImageCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
                           .imageType = VK_IMAGE_TYPE_2D,
                           .format = VK_FORMAT_R8G8B8A8_UNORM,
                           .extent = {64, 64, 1},
                           .mipLevels = 1,
                           .arrayLayers = 1,
                           .samples = VK_SAMPLE_COUNT_1_BIT,
                           .tiling = VK_IMAGE_TILING_OPTIMAL,
                           .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT};
  VkImage img;
  CHECK(vkCreateImage(c->dev, &ici, NULL, &img));
  vkGetImageMemoryRequirements(c->dev, img, &req);
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = rb_memory_type(c, req.memoryTypeBits, 0);
  VkDeviceMemory imem;
  CHECK(vkAllocateMemory(c->dev, &ai, NULL, &imem));
  CHECK(vkBindImageMemory(c->dev, img, imem, 0));
  VkImageViewCreateInfo vci = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
                               .image = img,
                               .viewType = VK_IMAGE_VIEW_TYPE_2D,
                               .format = VK_FORMAT_R8G8B8A8_UNORM,
                               .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
  VkImageView view;
  CHECK(vkCreateImageView(c->dev, &vci, NULL, &view));
  VkSamplerCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
                              .magFilter = VK_FILTER_LINEAR,
                              .minFilter = VK_FILTER_LINEAR};
  VkSampler sampler;
  CHECK(vkCreateSampler(c->dev, &smci, NULL, &sampler));
  VkQueryPoolCreateInfo qpci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_OCCLUSION,
                                .queryCount = 4};
  VkQueryPool qp;
  CHECK(vkCreateQueryPool(c->dev, &qpci, NULL, &qp));

  VkDescriptorSetLayoutBinding bind = {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1,
                                       VK_SHADER_STAGE_COMPUTE_BIT, NULL};
  VkDescriptorSetLayoutCreateInfo dlci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = 1,
      .pBindings = &bind};
  VkDescriptorSetLayout dsl;
  CHECK(vkCreateDescriptorSetLayout(c->dev, &dlci, NULL, &dsl));
  VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1,
                                     .pSetLayouts = &dsl};
  VkPipelineLayout pl;
  CHECK(vkCreatePipelineLayout(c->dev, &plci, NULL, &pl));
  VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4};
  VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .maxSets = 4,
                                     .poolSizeCount = 1,
                                     .pPoolSizes = &ps};
  VkDescriptorPool dp;
  CHECK(vkCreateDescriptorPool(c->dev, &dpci, NULL, &dp));
  VkDescriptorSetAllocateInfo dsai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = dp,
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &dsl};
  VkDescriptorSet set;
  CHECK(vkAllocateDescriptorSets(c->dev, &dsai, &set));
  VkDescriptorBufferInfo dbi = {buf, 0, VK_WHOLE_SIZE};
  VkWriteDescriptorSet wds = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                              .dstSet = set,
                              .descriptorCount = 1,
                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                              .pBufferInfo = &dbi};
  vkUpdateDescriptorSets(c->dev, 1, &wds, 0, NULL);

  VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                 .queueFamilyIndex = c->family};
  VkCommandPool pool;
  CHECK(vkCreateCommandPool(c->dev, &pci, NULL, &pool));
  VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                     .commandPool = pool,
                                     .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                     .commandBufferCount = 3};
  VkCommandBuffer cmd[3];
  CHECK(vkAllocateCommandBuffers(c->dev, &cai, cmd));
  VkCommandBufferBeginInfo cbi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  CHECK(vkBeginCommandBuffer(cmd[0], &cbi));
  vkCmdFillBuffer(cmd[0], buf, 4, 4, round + 1);
  CHECK(vkEndCommandBuffer(cmd[0]));
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .commandBufferCount = 1,
                     .pCommandBuffers = cmd,
                     .signalSemaphoreCount = 1,
                     .pSignalSemaphores = &sem};
  CHECK(vkQueueSubmit(c->queue, 1, &si, VK_NULL_HANDLE));
  VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
  VkSubmitInfo wait = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .waitSemaphoreCount = 1,
                       .pWaitSemaphores = &sem,
                       .pWaitDstStageMask = &stage};
  CHECK(vkQueueSubmit(c->queue, 1, &wait, fence));
  CHECK(vkWaitForFences(c->dev, 1, &fence, VK_TRUE, 10 * SECOND));
  if (p[0] != round || p[1] != round + 1) FAIL("round %u: buffer holds %u %u", round, p[0], p[1]);
  vkFreeCommandBuffers(c->dev, pool, 1, &cmd[2]);

  /* reverse order, with the pools freeing their children implicitly */
  vkDestroyCommandPool(c->dev, pool, NULL);
  vkDestroyDescriptorPool(c->dev, dp, NULL);
  vkDestroyPipelineLayout(c->dev, pl, NULL);
  vkDestroyDescriptorSetLayout(c->dev, dsl, NULL);
  vkDestroyQueryPool(c->dev, qp, NULL);
  vkDestroySampler(c->dev, sampler, NULL);
  vkDestroyImageView(c->dev, view, NULL);
  vkDestroyImage(c->dev, img, NULL);
  vkFreeMemory(c->dev, imem, NULL);
  vkUnmapMemory(c->dev, mem);
  vkDestroyBuffer(c->dev, buf, NULL);
  vkFreeMemory(c->dev, mem, NULL);
  vkDestroyEvent(c->dev, ev, NULL);
  vkDestroySemaphore(c->dev, sem, NULL);
  vkDestroyFence(c->dev, fence, NULL);
}

int main(int argc, char **argv) {
  unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 8;
  unsigned devices = argc > 2 ? (unsigned)atoi(argv[2]) : 4;
  unsigned instances = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
  unsigned total = 0;
  for (unsigned i = 0; i < instances; i++) {
    struct rb c;
    memset(&c, 0, sizeof(c));
    rb_instance(&c, "object_churn");
    for (unsigned d = 0; d < devices; d++) {
      rb_device(&c);
      for (unsigned r = 0; r < rounds; r++) round_trip(&c, total++);
      vkDeviceWaitIdle(c.dev);
      vkDestroyDevice(c.dev, NULL);
    }
    vkDestroyInstance(c.instance, NULL);
  }
  printf("RESULT object_churn rounds=%u ok\n", total);
  return 0;
}
