/*
 * Offscreen rendering: a render pass and a graphics pipeline draw two
 * triangles (one flat red, one with interpolated vertex colors) into a 64x64
 * RGBA8 image, copied to a buffer and read back. Checks the clear color, the
 * flat triangle's color and coverage; the checksum covers every pixel.
 */
#include "common.h"

#include "color_frag.h"
#include "color_vert.h"

#define W 64
#define H 64

static const struct vertex verts[] = {
    {{-0.9f, -0.9f, 0}, {1, 0, 0}}, {{0.1f, -0.9f, 0}, {1, 0, 0}}, {{-0.9f, 0.1f, 0}, {1, 0, 0}},
    {{0.9f, 0.9f, 0}, {1, 0, 0}},   {{-0.2f, 0.9f, 0}, {0, 1, 0}}, {{0.9f, -0.2f, 0}, {0, 0, 1}},
};

int main(void) {
  struct ctx c;
  ctx_init(&c, "render", NULL, NULL);
  VkFormat fmt = VK_FORMAT_R8G8B8A8_UNORM;
  struct image color = image_new(&c, W, H, fmt,
                                 VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                     VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                 VK_IMAGE_ASPECT_COLOR_BIT);
  struct buffer vb = buffer_new(&c, sizeof(verts), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, HOST_MEM);
  memcpy(vb.map, verts, sizeof(verts));
  struct buffer rb = buffer_new(&c, W * H * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, HOST_MEM);
  VkRenderPass rp = render_pass_new(&c, fmt, VK_FORMAT_UNDEFINED);
  VkFramebuffer fb = framebuffer_new(&c, rp, W, H, color.view, VK_NULL_HANDLE);
  VkPipelineLayout layout = layout_new(&c, NULL, 0, 0);
  VkShaderModule vs = SHADER(&c, color_vert), fs = SHADER(&c, color_frag);
  VkPipeline pipe = pipeline_new(&c, rp, layout, vs, fs, W, H, 0);

  VkCommandBuffer cmd = cmd_begin(&c);
  VkClearValue clear = {.color = {.float32 = {0.0f, 0.2f, 0.4f, 1.0f}}};
  VkRenderPassBeginInfo rbi = {.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
                               .renderPass = rp,
                               .framebuffer = fb,
                               .renderArea = {{0, 0}, {W, H}},
                               .clearValueCount = 1,
                               .pClearValues = &clear};
  vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipe);
  VkDeviceSize zero = 0;
  vkCmdBindVertexBuffers(cmd, 0, 1, &vb.buf, &zero);
  vkCmdDraw(cmd, 6, 1, 0, 0);
  vkCmdEndRenderPass(cmd);
  copy_image_to_buffer(cmd, color.img, W, H, rb.buf);
  cmd_finish(&c, cmd);
  invalidate(&c, rb.mem);

  const uint8_t *px = rb.map;
#define PX(x, y) (px + ((y) * W + (x)) * 4)
  EXPECT(memcmp(PX(63, 0), (uint8_t[]){0, 51, 102, 255}, 4) == 0, "clear color wrong: %u %u %u %u",
         PX(63, 0)[0], PX(63, 0)[1], PX(63, 0)[2], PX(63, 0)[3]);
  EXPECT(memcmp(PX(10, 10), (uint8_t[]){255, 0, 0, 255}, 4) == 0, "flat triangle wrong: %u %u %u",
         PX(10, 10)[0], PX(10, 10)[1], PX(10, 10)[2]);
  EXPECT(PX(55, 55)[2] > 0 && PX(55, 55)[1] > 0, "interpolated triangle missing");
  uint32_t red = 0, covered = 0;
  for (uint32_t i = 0; i < W * H; i++) {
    const uint8_t *p = px + i * 4;
    if (memcmp(p, (uint8_t[]){0, 51, 102, 255}, 4) != 0) covered++;
    if (memcmp(p, (uint8_t[]){255, 0, 0, 255}, 4) == 0) red++;
  }
  /* right triangles with legs of 32 and 35.2 pixels: about 512 + 620 pixels */
  EXPECT(red > 490 && red < 560 && covered > 1100 && covered < 1200, "coverage red %u all %u",
         red, covered);
  printf("RESULT render %ux%u red=%u covered=%u fnv=0x%08x\n", W, H, red, covered,
         fnv1a(px, W * H * 4));

  vkDestroyPipeline(c.dev, pipe, NULL);
  vkDestroyShaderModule(c.dev, vs, NULL);
  vkDestroyShaderModule(c.dev, fs, NULL);
  vkDestroyPipelineLayout(c.dev, layout, NULL);
  vkDestroyFramebuffer(c.dev, fb, NULL);
  vkDestroyRenderPass(c.dev, rp, NULL);
  image_free(&c, &color);
  buffer_free(&c, &vb);
  buffer_free(&c, &rb);
  ctx_fini(&c);
  return 0;
}
