/*
 * The demo scene: a 256x256 offscreen render with a depth buffer (D32) of a
 * gradient backdrop, a star of six triangles and three interpenetrating
 * shaded triangles, drawn in an order where only the depth test gives the
 * right picture. Checks one depth-resolved pixel; prints the checksum and,
 * given a path, writes the pixels there as raw RGBA8 rows (top row first).
 *
 *   scene [OUT.rgba]
 */
#include <math.h>

#include "common.h"

#include "color_vert.h"
#include "scene_frag.h"

#define W 256
#define H 256
#define V(x, y, z, r, g, b) {{x, y, z}, {r, g, b}}

static struct vertex verts[64] = {
    /* backdrop, far away */
    V(-1, -1, 0.99f, 0.05f, 0.07f, 0.25f), V(1, -1, 0.99f, 0.05f, 0.07f, 0.25f),
    V(-1, 1, 0.99f, 0.30f, 0.10f, 0.35f), V(1, -1, 0.99f, 0.05f, 0.07f, 0.25f),
    V(1, 1, 0.99f, 0.30f, 0.10f, 0.35f), V(-1, 1, 0.99f, 0.30f, 0.10f, 0.35f),
    /* 6: blue/magenta, nearest, drawn before the triangle behind it */
    V(0.3f, 0.1f, 0.1f, 0.1f, 0.2f, 1.0f), V(0.9f, 0.5f, 0.1f, 0.9f, 0.1f, 0.9f),
    V(0.4f, 0.9f, 0.1f, 0.5f, 0.3f, 1.0f),
    /* 9: red/orange/yellow at z = 0.5 */
    V(-0.8f, 0.7f, 0.5f, 1.0f, 0.1f, 0.1f), V(0.2f, -0.8f, 0.5f, 1.0f, 0.6f, 0.0f),
    V(0.6f, 0.7f, 0.5f, 1.0f, 0.95f, 0.2f),
    /* 12: green/cyan, tilted through the red one */
    V(-0.7f, -0.5f, 0.2f, 0.1f, 0.9f, 0.2f), V(0.8f, -0.2f, 0.8f, 0.0f, 0.9f, 0.9f),
    V(-0.2f, 0.8f, 0.8f, 0.1f, 0.5f, 0.4f),
    /* 15: the star, filled in by main() */
};
#define STAR 15

int main(int argc, char **argv) {
  for (int i = 0; i < 6; i++) { /* six triangles around (-0.55, -0.55), rainbow tips */
    float a0 = (float)i * 1.0471976f, am = a0 + 0.5235988f;
    float hue[6][3] = {{1, 0.2f, 0.2f}, {1, 0.8f, 0.1f}, {0.3f, 1, 0.2f},
                       {0.1f, 0.9f, 1},  {0.3f, 0.3f, 1},  {1, 0.3f, 0.9f}};
    struct vertex *t = &verts[STAR + 3 * i];
    t[0] = (struct vertex)V(-0.55f, -0.55f, 0.3f, 1, 1, 1);
    t[1] = (struct vertex)V(-0.55f + 0.18f * cosf(a0), -0.55f + 0.18f * sinf(a0), 0.3f, hue[i][0],
                            hue[i][1], hue[i][2]);
    t[2] = (struct vertex)V(-0.55f + 0.4f * cosf(am), -0.55f + 0.4f * sinf(am), 0.3f, hue[i][0],
                            hue[i][1], hue[i][2]);
  }
  uint32_t nverts = STAR + 18;

  struct ctx c;
  ctx_init(&c, "scene", NULL, NULL);
  VkFormat fmt = VK_FORMAT_R8G8B8A8_UNORM, dfmt = VK_FORMAT_D32_SFLOAT;
  struct image color = image_new(&c, W, H, fmt, VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                                    VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                 VK_IMAGE_ASPECT_COLOR_BIT);
  struct image depth = image_new(&c, W, H, dfmt, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
                                 VK_IMAGE_ASPECT_DEPTH_BIT);
  struct buffer vb = buffer_new(&c, sizeof(verts), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, HOST_MEM);
  memcpy(vb.map, verts, sizeof(verts));
  struct buffer rb = buffer_new(&c, W * H * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, HOST_MEM);
  VkRenderPass rp = render_pass_new(&c, fmt, dfmt);
  VkFramebuffer fb = framebuffer_new(&c, rp, W, H, color.view, depth.view);
  VkPipelineLayout layout = layout_new(&c, NULL, 0, 0);
  VkShaderModule vs = SHADER(&c, color_vert), fs = SHADER(&c, scene_frag);
  VkPipeline pipe = pipeline_new(&c, rp, layout, vs, fs, W, H, 1);

  VkCommandBuffer cmd = cmd_begin(&c);
  VkClearValue clear[2] = {{.color = {.float32 = {0, 0, 0, 1}}},
                           {.depthStencil = {1.0f, 0}}};
  VkRenderPassBeginInfo rbi = {.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
                               .renderPass = rp,
                               .framebuffer = fb,
                               .renderArea = {{0, 0}, {W, H}},
                               .clearValueCount = 2,
                               .pClearValues = clear};
  vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipe);
  VkDeviceSize zero = 0;
  vkCmdBindVertexBuffers(cmd, 0, 1, &vb.buf, &zero);
  vkCmdDraw(cmd, nverts, 1, 0, 0);
  vkCmdEndRenderPass(cmd);
  copy_image_to_buffer(cmd, color.img, W, H, rb.buf);
  cmd_finish(&c, cmd);
  invalidate(&c, rb.mem);

  const uint8_t *px = rb.map;
  /* (0.45, 0.45) is inside the blue triangle and the red one behind it */
  const uint8_t *p = px + (185 * W + 185) * 4;
  EXPECT(p[2] > p[0] && p[2] > p[1], "depth test lost: pixel (185,185) is %u %u %u", p[0], p[1],
         p[2]);
  uint32_t background = 0;
  for (uint32_t i = 0; i < W * H; i++) background += px[i * 4] == 0 && px[i * 4 + 1] == 0;
  EXPECT(background == 0, "%u pixels not drawn", background);
  printf("RESULT scene %ux%u fnv=0x%08x\n", W, H, fnv1a(px, W * H * 4));
  if (argc > 1) {
    FILE *f = fopen(argv[1], "wb");
    EXPECT(f && fwrite(px, 1, W * H * 4, f) == W * H * 4 && fclose(f) == 0, "cannot write %s",
           argv[1]);
  }

  vkDestroyPipeline(c.dev, pipe, NULL);
  vkDestroyShaderModule(c.dev, vs, NULL);
  vkDestroyShaderModule(c.dev, fs, NULL);
  vkDestroyPipelineLayout(c.dev, layout, NULL);
  vkDestroyFramebuffer(c.dev, fb, NULL);
  vkDestroyRenderPass(c.dev, rp, NULL);
  image_free(&c, &color);
  image_free(&c, &depth);
  buffer_free(&c, &vb);
  buffer_free(&c, &rb);
  ctx_fini(&c);
  return 0;
}
