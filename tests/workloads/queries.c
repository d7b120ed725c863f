/*
 * Queries: timestamps around a 4 MiB fill and a render pass (checked to be
 * nonzero, within timestampValidBits and monotonic, not for values), and
 * precise occlusion queries with exact sample counts (a 16x16 square: 256; a
 * triangle outside the viewport: 0; full screen + the square: 1024 + 256),
 * read with vkGetQueryPoolResults and with vkCmdCopyQueryPoolResults (with
 * availability).
 */
#include "common.h"

#include "color_frag.h"
#include "color_vert.h"

#define W 32
#define H 32
#define QUAD(x0, y0, x1, y1)                                                              \
  {{x0, y0, 0}, {1, 1, 1}}, {{x1, y0, 0}, {1, 1, 1}}, {{x0, y1, 0}, {1, 1, 1}},          \
      {{x1, y0, 0}, {1, 1, 1}}, {{x1, y1, 0}, {1, 1, 1}}, { {x0, y1, 0}, {1, 1, 1} }

static const struct vertex verts[] = {
    QUAD(-0.5f, -0.5f, 0.5f, 0.5f),                               /* 0: pixels 8..23 square */
    {{1.5f, 0, 0}, {1, 1, 1}}, {{3, 0, 0}, {1, 1, 1}}, {{2, 1, 0}, {1, 1, 1}}, /* 6: outside */
    QUAD(-1.0f, -1.0f, 1.0f, 1.0f),                               /* 9: full screen */
};

int main(void) {
  VkPhysicalDeviceFeatures want = {.occlusionQueryPrecise = VK_TRUE};
  struct ctx c;
  ctx_init(&c, "queries", NULL, &want);
  VkQueueFamilyProperties fams[16];
  uint32_t nf = COUNT(fams);
  vkGetPhysicalDeviceQueueFamilyProperties(c.phys, &nf, fams);
  uint32_t valid_bits = fams[c.family].timestampValidBits;
  EXPECT(valid_bits > 0, "the queue has no timestamps");

  VkFormat fmt = VK_FORMAT_R8G8B8A8_UNORM;
  struct image color = image_new(&c, W, H, fmt, VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                                    VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                 VK_IMAGE_ASPECT_COLOR_BIT);
  struct buffer vb = buffer_new(&c, sizeof(verts), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, HOST_MEM);
  memcpy(vb.map, verts, sizeof(verts));
  struct buffer big = buffer_new(&c, 4 << 20, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                 VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  struct buffer qb = buffer_new(&c, 3 * 16, VK_BUFFER_USAGE_TRANSFER_DST_BIT, HOST_MEM);
  memset(qb.map, 0xff, 3 * 16);
  VkRenderPass rp = render_pass_new(&c, fmt, VK_FORMAT_UNDEFINED);
  VkFramebuffer fb = framebuffer_new(&c, rp, W, H, color.view, VK_NULL_HANDLE);
  VkPipelineLayout layout = layout_new(&c, NULL, 0, 0);
  VkShaderModule vs = SHADER(&c, color_vert), fs = SHADER(&c, color_frag);
  VkPipeline pipe = pipeline_new(&c, rp, layout, vs, fs, W, H, 0);

  VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                               .queryType = VK_QUERY_TYPE_TIMESTAMP,
                               .queryCount = 4};
  VkQueryPool ts, occ;
  CHECK(vkCreateQueryPool(c.dev, &qci, NULL, &ts));
  qci.queryType = VK_QUERY_TYPE_OCCLUSION;
  qci.queryCount = 3;
  CHECK(vkCreateQueryPool(c.dev, &qci, NULL, &occ));

  VkCommandBuffer cmd = cmd_begin(&c);
  vkCmdResetQueryPool(cmd, ts, 0, 4);
  vkCmdResetQueryPool(cmd, occ, 0, 3);
  vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, ts, 0);
  vkCmdFillBuffer(cmd, big.buf, 0, VK_WHOLE_SIZE, 0x01020304);
  vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, ts, 1);
  VkClearValue clear = {.color = {.float32 = {0, 0, 0, 1}}};
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
  vkCmdBeginQuery(cmd, occ, 0, VK_QUERY_CONTROL_PRECISE_BIT);
  vkCmdDraw(cmd, 6, 1, 0, 0);
  vkCmdEndQuery(cmd, occ, 0);
  vkCmdBeginQuery(cmd, occ, 1, VK_QUERY_CONTROL_PRECISE_BIT);
  vkCmdDraw(cmd, 3, 1, 6, 0);
  vkCmdEndQuery(cmd, occ, 1);
  vkCmdBeginQuery(cmd, occ, 2, VK_QUERY_CONTROL_PRECISE_BIT);
  vkCmdDraw(cmd, 6, 1, 9, 0);
  vkCmdDraw(cmd, 6, 1, 0, 0);
  vkCmdEndQuery(cmd, occ, 2);
  vkCmdEndRenderPass(cmd);
  vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, ts, 2);
  vkCmdCopyQueryPoolResults(cmd, occ, 0, 3, qb.buf, 0, 16,
                            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT |
                                VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, ts, 3);
  cmd_finish(&c, cmd);

  uint64_t t[4], o[3];
  CHECK(vkGetQueryPoolResults(c.dev, ts, 0, 4, sizeof(t), t, 8,
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  CHECK(vkGetQueryPoolResults(c.dev, occ, 0, 3, sizeof(o), o, 8,
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  uint64_t mask = valid_bits >= 64 ? ~0ull : (1ull << valid_bits) - 1;
  for (int i = 0; i < 4; i++) {
    EXPECT(t[i] != 0 && (t[i] & ~mask) == 0, "timestamp %d invalid: %llu", i,
           (unsigned long long)t[i]);
    EXPECT(i == 0 || t[i] >= t[i - 1], "timestamps not monotonic: %llu after %llu",
           (unsigned long long)t[i], (unsigned long long)t[i - 1]);
  }
  double ms = (double)(t[3] - t[0]) * c.props.limits.timestampPeriod / 1e6;
  EXPECT(ms < 10000, "timestamps span %.1f ms", ms);
  fprintf(stderr, "queries: the command buffer took %.3f ms by its timestamps\n", ms);
  EXPECT(o[0] == 256 && o[1] == 0 && o[2] == 1280, "occlusion %llu %llu %llu, want 256 0 1280",
         (unsigned long long)o[0], (unsigned long long)o[1], (unsigned long long)o[2]);
  invalidate(&c, qb.mem);
  const uint64_t *q = qb.map;
  for (int i = 0; i < 3; i++)
    EXPECT(q[2 * i] == o[i] && q[2 * i + 1] == 1, "copied query %d: %llu avail %llu", i,
           (unsigned long long)q[2 * i], (unsigned long long)q[2 * i + 1]);
  printf("RESULT queries timestamps=4 monotonic=yes\n");
  printf("RESULT queries occlusion=%llu,%llu,%llu copied=%llu,%llu,%llu available=1,1,1\n",
         (unsigned long long)o[0], (unsigned long long)o[1], (unsigned long long)o[2],
         (unsigned long long)q[0], (unsigned long long)q[2], (unsigned long long)q[4]);

  vkDestroyQueryPool(c.dev, ts, NULL);
  vkDestroyQueryPool(c.dev, occ, NULL);
  vkDestroyPipeline(c.dev, pipe, NULL);
  vkDestroyShaderModule(c.dev, vs, NULL);
  vkDestroyShaderModule(c.dev, fs, NULL);
  vkDestroyPipelineLayout(c.dev, layout, NULL);
  vkDestroyFramebuffer(c.dev, fb, NULL);
  vkDestroyRenderPass(c.dev, rp, NULL);
  image_free(&c, &color);
  buffer_free(&c, &vb);
  buffer_free(&c, &big);
  buffer_free(&c, &qb);
  ctx_fini(&c);
  return 0;
}
