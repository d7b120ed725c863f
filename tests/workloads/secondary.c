/*
 * Secondary command buffers: one outside a render pass (a fill), two inside
 * one (RENDER_PASS_CONTINUE, each binding its own pipeline state and drawing
 * a triangle), executed from a reusable primary that is submitted twice. Both
 * submissions must produce the fill and the same image.
 */
#include "common.h"

#include "color_frag.h"
#include "color_vert.h"

#define W 32
#define H 32
#define WORDS 256

static const struct vertex verts[] = {
    {{-1, -1, 0}, {1, 1, 0}}, {{0, -1, 0}, {1, 1, 0}}, {{-1, 0, 0}, {1, 1, 0}},
    {{1, 1, 0}, {0, 1, 1}},   {{0, 1, 0}, {0, 1, 1}},  {{1, 0, 0}, {0, 1, 1}},
};

static VkCommandBuffer secondary_begin(struct ctx *c, VkRenderPass rp, VkFramebuffer fb) {
  VkCommandBuffer cmd = cmd_alloc(c, VK_COMMAND_BUFFER_LEVEL_SECONDARY);
  VkCommandBufferInheritanceInfo inh = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_INHERITANCE_INFO,
                                        .renderPass = rp,
                                        .subpass = 0,
                                        .framebuffer = fb};
  VkCommandBufferBeginInfo bi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = rp ? VK_COMMAND_BUFFER_USAGE_RENDER_PASS_CONTINUE_BIT : 0,
      .pInheritanceInfo = &inh};
  CHECK(vkBeginCommandBuffer(cmd, &bi));
  return cmd;
}

int main(void) {
  struct ctx c;
  ctx_init(&c, "secondary", NULL, NULL);
  VkFormat fmt = VK_FORMAT_R8G8B8A8_UNORM;
  struct image color = image_new(&c, W, H, fmt, VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                                    VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                 VK_IMAGE_ASPECT_COLOR_BIT);
  struct buffer vb = buffer_new(&c, sizeof(verts), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, HOST_MEM);
  memcpy(vb.map, verts, sizeof(verts));
  struct buffer rb = buffer_new(&c, W * H * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, HOST_MEM);
  struct buffer fill = buffer_new(&c, WORDS * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, HOST_MEM);
  VkRenderPass rp = render_pass_new(&c, fmt, VK_FORMAT_UNDEFINED);
  VkFramebuffer fb = framebuffer_new(&c, rp, W, H, color.view, VK_NULL_HANDLE);
  VkPipelineLayout layout = layout_new(&c, NULL, 0, 0);
  VkShaderModule vs = SHADER(&c, color_vert), fs = SHADER(&c, color_frag);
  VkPipeline pipe = pipeline_new(&c, rp, layout, vs, fs, W, H, 0);

  VkCommandBuffer outside = secondary_begin(&c, VK_NULL_HANDLE, VK_NULL_HANDLE);
  vkCmdFillBuffer(outside, fill.buf, 0, VK_WHOLE_SIZE, 0xabcdabcd);
  CHECK(vkEndCommandBuffer(outside));
  VkCommandBuffer inside[2];
  for (uint32_t i = 0; i < 2; i++) {
    inside[i] = secondary_begin(&c, rp, fb);
    vkCmdBindPipeline(inside[i], VK_PIPELINE_BIND_POINT_GRAPHICS, pipe);
    VkDeviceSize zero = 0;
    vkCmdBindVertexBuffers(inside[i], 0, 1, &vb.buf, &zero);
    vkCmdDraw(inside[i], 3, 1, 3 * i, 0);
    CHECK(vkEndCommandBuffer(inside[i]));
  }

  VkCommandBuffer primary = cmd_alloc(&c, VK_COMMAND_BUFFER_LEVEL_PRIMARY);
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  CHECK(vkBeginCommandBuffer(primary, &bi));
  vkCmdExecuteCommands(primary, 1, &outside);
  VkClearValue clear = {.color = {.float32 = {0.2f, 0, 0.2f, 1}}};
  VkRenderPassBeginInfo rbi = {.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
                               .renderPass = rp,
                               .framebuffer = fb,
                               .renderArea = {{0, 0}, {W, H}},
                               .clearValueCount = 1,
                               .pClearValues = &clear};
  vkCmdBeginRenderPass(primary, &rbi, VK_SUBPASS_CONTENTS_SECONDARY_COMMAND_BUFFERS);
  vkCmdExecuteCommands(primary, 2, inside);
  vkCmdEndRenderPass(primary);
  copy_image_to_buffer(primary, color.img, W, H, rb.buf);
  CHECK(vkEndCommandBuffer(primary));

  uint32_t first = 0;
  for (int round = 0; round < 2; round++) {
    memset(fill.map, 0, WORDS * 4);
    memset(rb.map, 0, W * H * 4);
    submit_wait(&c, primary);
    invalidate(&c, fill.mem);
    invalidate(&c, rb.mem);
    const uint32_t *w = fill.map;
    for (uint32_t i = 0; i < WORDS; i++)
      EXPECT(w[i] == 0xabcdabcd, "round %d: word %u is 0x%08x", round, i, w[i]);
    const uint8_t *px = rb.map;
    EXPECT(memcmp(px + (2 * W + 2) * 4, (uint8_t[]){255, 255, 0, 255}, 4) == 0 &&
               memcmp(px + ((H - 3) * W + W - 3) * 4, (uint8_t[]){0, 255, 255, 255}, 4) == 0,
           "round %d: a triangle is missing", round);
    uint32_t h = fnv1a(px, W * H * 4);
    EXPECT(round == 0 || h == first, "round %d: image differs (0x%08x, was 0x%08x)", round, h,
           first);
    first = h;
  }
  printf("RESULT secondary fill=ok submits=2 fnv=0x%08x\n", first);

  vkDestroyPipeline(c.dev, pipe, NULL);
  vkDestroyShaderModule(c.dev, vs, NULL);
  vkDestroyShaderModule(c.dev, fs, NULL);
  vkDestroyPipelineLayout(c.dev, layout, NULL);
  vkDestroyFramebuffer(c.dev, fb, NULL);
  vkDestroyRenderPass(c.dev, rp, NULL);
  image_free(&c, &color);
  buffer_free(&c, &vb);
  buffer_free(&c, &rb);
  buffer_free(&c, &fill);
  ctx_fini(&c);
  return 0;
}
