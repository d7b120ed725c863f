/*
 * Compute: a shader (shaders/compute.comp) over 4000 words with push
 * constants and two storage buffers; per-workgroup sums through shared
 * memory and an atomic. Every output word and the total are checked.
 */
#include "common.h"
#include "compute_comp.h"

#define N 4000 /* not a multiple of the workgroup size: the tail is guarded */

int main(void) {
  struct ctx c;
  ctx_init(&c, "compute", NULL, NULL);
  VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  struct buffer in = buffer_new(&c, N * 4, usage, HOST_MEM);
  struct buffer out = buffer_new(&c, (N + 1) * 4, usage, HOST_MEM);
  uint32_t *a = in.map, *b = out.map;
  for (uint32_t i = 0; i < N; i++) a[i] = i * 7919u + 13u;
  memset(b, 0xff, (N + 1) * 4);
  b[0] = 0; /* total */

  VkDescriptorSetLayoutBinding binds[2] = {
      {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
      {1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
  };
  VkDescriptorSetLayoutCreateInfo dli = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = 2,
      .pBindings = binds};
  VkDescriptorSetLayout dsl;
  CHECK(vkCreateDescriptorSetLayout(c.dev, &dli, NULL, &dsl));
  VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2};
  VkDescriptorPoolCreateInfo dpi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                    .maxSets = 1,
                                    .poolSizeCount = 1,
                                    .pPoolSizes = &size};
  VkDescriptorPool dp;
  CHECK(vkCreateDescriptorPool(c.dev, &dpi, NULL, &dp));
  VkDescriptorSetAllocateInfo dai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                     .descriptorPool = dp,
                                     .descriptorSetCount = 1,
                                     .pSetLayouts = &dsl};
  VkDescriptorSet set;
  CHECK(vkAllocateDescriptorSets(c.dev, &dai, &set));
  VkDescriptorBufferInfo infos[2] = {{in.buf, 0, VK_WHOLE_SIZE}, {out.buf, 0, VK_WHOLE_SIZE}};
  VkWriteDescriptorSet writes[2];
  for (int i = 0; i < 2; i++)
    writes[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                       .dstSet = set,
                                       .dstBinding = i,
                                       .descriptorCount = 1,
                                       .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                       .pBufferInfo = &infos[i]};
  vkUpdateDescriptorSets(c.dev, 2, writes, 0, NULL);

  VkPipelineLayout layout = layout_new(&c, &dsl, 12, VK_SHADER_STAGE_COMPUTE_BIT);
  VkShaderModule cs = SHADER(&c, compute_comp);
  VkPipeline pipe = compute_pipeline_new(&c, layout, cs);

  uint32_t push[3] = {3, 1000, N};
  VkCommandBuffer cmd = cmd_begin(&c);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
  vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(push), push);
  vkCmdDispatch(cmd, (N + 63) / 64, 1, 1);
  memory_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  cmd_finish(&c, cmd);
  invalidate(&c, out.mem);

  uint32_t total = 0;
  for (uint32_t i = 0; i < N; i++) {
    uint32_t want = a[i] * push[0] + push[1];
    EXPECT(b[1 + i] == want, "out[%u] = %u, want %u", i, b[1 + i], want);
    total += want;
  }
  EXPECT(b[0] == total, "total %u, want %u", b[0], total);
  printf("RESULT compute n=%u total=%u fnv=0x%08x\n", N, total, fnv1a(b, (N + 1) * 4));

  vkDestroyPipeline(c.dev, pipe, NULL);
  vkDestroyShaderModule(c.dev, cs, NULL);
  vkDestroyPipelineLayout(c.dev, layout, NULL);
  vkDestroyDescriptorPool(c.dev, dp, NULL);
  vkDestroyDescriptorSetLayout(c.dev, dsl, NULL);
  buffer_free(&c, &in);
  buffer_free(&c, &out);
  ctx_fini(&c);
  return 0;
}
