/*
 * Texture upload and sampling: a 16x16 RGBA8 texture goes staging buffer ->
 * image (vkCmdCopyBufferToImage, layout transitions), then a compute shader
 * (shaders/texture.comp) samples it through a nearest sampler at the texel
 * centers (must equal the texels exactly) and a linear sampler at the texel
 * corners (must be the average of four texels, within 1).
 */
#include "common.h"

#include "texture_comp.h"

#define S 16

static uint8_t texel(uint32_t x, uint32_t y, uint32_t ch) {
  uint8_t v[4] = {(uint8_t)(x * 16 + 8), (uint8_t)(y * 16 + 8), (uint8_t)(((x ^ y) & 15) * 17),
                  (uint8_t)(255 - x - y)};
  return v[ch];
}

static VkSampler sampler_new(struct ctx *c, VkFilter filter) {
  VkSamplerCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
                             .magFilter = filter,
                             .minFilter = filter,
                             .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST,
                             .addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
                             .addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
                             .addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
                             .maxLod = 0};
  VkSampler s;
  CHECK(vkCreateSampler(c->dev, &sci, NULL, &s));
  return s;
}

int main(void) {
  struct ctx c;
  ctx_init(&c, "texture", NULL, NULL);
  VkFormat fmt = VK_FORMAT_R8G8B8A8_UNORM;
  struct image tex = image_new(&c, S, S, fmt,
                               VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                               VK_IMAGE_ASPECT_COLOR_BIT);
  struct buffer staging = buffer_new(&c, S * S * 4, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, HOST_MEM);
  struct buffer out = buffer_new(&c, 2 * S * S * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, HOST_MEM);
  uint8_t *up = staging.map;
  for (uint32_t y = 0; y < S; y++)
    for (uint32_t x = 0; x < S; x++)
      for (uint32_t ch = 0; ch < 4; ch++) up[(y * S + x) * 4 + ch] = texel(x, y, ch);
  VkSampler nearest = sampler_new(&c, VK_FILTER_NEAREST), linear = sampler_new(&c, VK_FILTER_LINEAR);

  VkDescriptorSetLayoutBinding binds[3] = {
      {0, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
      {1, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
      {2, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
  };
  VkDescriptorSetLayoutCreateInfo dli = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = 3,
      .pBindings = binds};
  VkDescriptorSetLayout dsl;
  CHECK(vkCreateDescriptorSetLayout(c.dev, &dli, NULL, &dsl));
  VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 2},
                                   {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1}};
  VkDescriptorPoolCreateInfo dpi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                    .maxSets = 1,
                                    .poolSizeCount = 2,
                                    .pPoolSizes = sizes};
  VkDescriptorPool dp;
  CHECK(vkCreateDescriptorPool(c.dev, &dpi, NULL, &dp));
  VkDescriptorSetAllocateInfo dai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                     .descriptorPool = dp,
                                     .descriptorSetCount = 1,
                                     .pSetLayouts = &dsl};
  VkDescriptorSet set;
  CHECK(vkAllocateDescriptorSets(c.dev, &dai, &set));
  VkDescriptorImageInfo imgs[2] = {
      {nearest, tex.view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
      {linear, tex.view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
  };
  VkDescriptorBufferInfo obuf = {out.buf, 0, VK_WHOLE_SIZE};
  VkWriteDescriptorSet writes[2] = {
      {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
       .dstSet = set,
       .dstBinding = 0,
       .descriptorCount = 2, /* bindings 0 and 1 */
       .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
       .pImageInfo = imgs},
      {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
       .dstSet = set,
       .dstBinding = 2,
       .descriptorCount = 1,
       .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
       .pBufferInfo = &obuf},
  };
  vkUpdateDescriptorSets(c.dev, 2, writes, 0, NULL);
  VkPipelineLayout layout = layout_new(&c, &dsl, 0, 0);
  VkShaderModule cs = SHADER(&c, texture_comp);
  VkPipeline pipe = compute_pipeline_new(&c, layout, cs);

  VkCommandBuffer cmd = cmd_begin(&c);
  image_barrier(cmd, tex.img, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0,
                VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
  VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                              .imageExtent = {S, S, 1}};
  vkCmdCopyBufferToImage(cmd, staging.buf, tex.img, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
                         &region);
  image_barrier(cmd, tex.img, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
                VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
  vkCmdDispatch(cmd, S / 8, S / 8, 1);
  memory_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  cmd_finish(&c, cmd);
  invalidate(&c, out.mem);

  const uint8_t *near = out.map, *lin = near + S * S * 4;
  for (uint32_t y = 0; y < S; y++)
    for (uint32_t x = 0; x < S; x++)
      for (uint32_t ch = 0; ch < 4; ch++) {
        uint32_t i = (y * S + x) * 4 + ch;
        EXPECT(near[i] == texel(x, y, ch), "nearest (%u,%u).%u = %u, want %u", x, y, ch, near[i],
               texel(x, y, ch));
        uint32_t x1 = x + 1 < S ? x + 1 : x, y1 = y + 1 < S ? y + 1 : y;
        float want = (texel(x, y, ch) + texel(x1, y, ch) + texel(x, y1, ch) + texel(x1, y1, ch)) / 4.0f;
        EXPECT(lin[i] >= want - 1.0f && lin[i] <= want + 1.0f, "linear (%u,%u).%u = %u, want %.2f",
               x, y, ch, lin[i], want);
      }
  printf("RESULT texture %ux%u nearest=exact nearest_fnv=0x%08x linear_fnv=0x%08x\n", S, S,
         fnv1a(near, S * S * 4), fnv1a(lin, S * S * 4));

  vkDestroyPipeline(c.dev, pipe, NULL);
  vkDestroyShaderModule(c.dev, cs, NULL);
  vkDestroyPipelineLayout(c.dev, layout, NULL);
  vkDestroyDescriptorPool(c.dev, dp, NULL);
  vkDestroyDescriptorSetLayout(c.dev, dsl, NULL);
  vkDestroySampler(c.dev, nearest, NULL);
  vkDestroySampler(c.dev, linear, NULL);
  image_free(&c, &tex);
  buffer_free(&c, &staging);
  buffer_free(&c, &out);
  ctx_fini(&c);
  return 0;
}
