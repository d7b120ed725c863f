/*
 * Tiny helpers shared by the workload programs: one device and queue, buffers
 * and images with their memory, one-shot command buffers, shader modules, a
 * plain graphics pipeline, a checksum. Every failure prints "FAIL: ..." to
 * stderr and exits 1; results go to stdout as "RESULT <workload> ..." lines,
 * which must be identical on lavapipe directly and through a render server.
 */
#ifndef WORKLOADS_COMMON_H
#define WORKLOADS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#define FAIL(...)                                  \
  do {                                             \
    fprintf(stderr, "FAIL: " __VA_ARGS__);         \
    fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__); \
    exit(1);                                       \
  } while (0)

#define CHECK(call)                                         \
  do {                                                      \
    VkResult r_ = (call);                                   \
    if (r_ != VK_SUCCESS) FAIL("%s returned %d", #call, r_); \
  } while (0)

#define EXPECT(cond, ...)          \
  do {                             \
    if (!(cond)) FAIL(__VA_ARGS__); \
  } while (0)

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct ctx {
  VkInstance instance;
  VkPhysicalDevice phys;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  VkDevice dev;
  uint32_t family;
  VkQueue queue;
  VkCommandPool pool;
};

/* Instance (Vulkan 1.2), first physical device, one graphics+compute queue.
 * `next` chains feature structs into VkDeviceCreateInfo; `features` may be NULL. */
static void ctx_init(struct ctx *c, const char *name, const void *next,
                     const VkPhysicalDeviceFeatures *features) {
  memset(c, 0, sizeof(*c));
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                           .pApplicationName = name,
                           .apiVersion = VK_API_VERSION_1_2};
  VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                              .pApplicationInfo = &app};
  CHECK(vkCreateInstance(&ici, NULL, &c->instance));
  uint32_t n = 1;
  VkResult r = vkEnumeratePhysicalDevices(c->instance, &n, &c->phys);
  EXPECT((r == VK_SUCCESS || r == VK_INCOMPLETE) && n == 1, "no physical device");
  vkGetPhysicalDeviceProperties(c->phys, &c->props);
  vkGetPhysicalDeviceMemoryProperties(c->phys, &c->mem);
  EXPECT(c->props.apiVersion >= VK_API_VERSION_1_2, "device API version below 1.2");
  VkQueueFamilyProperties fams[16];
  uint32_t nf = COUNT(fams);
  vkGetPhysicalDeviceQueueFamilyProperties(c->phys, &nf, fams);
  c->family = UINT32_MAX;
  for (uint32_t i = 0; i < nf && c->family == UINT32_MAX; i++)
    if ((fams[i].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT)) ==
        (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT))
      c->family = i;
  EXPECT(c->family != UINT32_MAX, "no graphics+compute queue family");
  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                 .queueFamilyIndex = c->family,
                                 .queueCount = 1,
                                 .pQueuePriorities = &prio};
  VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                            .pNext = next,
                            .queueCreateInfoCount = 1,
                            .pQueueCreateInfos = &qci,
                            .pEnabledFeatures = features};
  CHECK(vkCreateDevice(c->phys, &dci, NULL, &c->dev));
  vkGetDeviceQueue(c->dev, c->family, 0, &c->queue);
  VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                 .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                 .queueFamilyIndex = c->family};
  CHECK(vkCreateCommandPool(c->dev, &pci, NULL, &c->pool));
}

static void ctx_fini(struct ctx *c) {
  vkDeviceWaitIdle(c->dev);
  vkDestroyCommandPool(c->dev, c->pool, NULL);
  vkDestroyDevice(c->dev, NULL);
  vkDestroyInstance(c->instance, NULL);
}

static uint32_t find_memory(struct ctx *c, uint32_t bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < c->mem.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (c->mem.memoryTypes[i].propertyFlags & want) == want) return i;
  FAIL("no memory type with flags 0x%x in 0x%x", want, bits);
}

static VkDeviceMemory alloc_memory(struct ctx *c, VkMemoryRequirements req,
                                   VkMemoryPropertyFlags want) {
  VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                             .allocationSize = req.size,
                             .memoryTypeIndex = find_memory(c, req.memoryTypeBits, want)};
  VkDeviceMemory m;
  CHECK(vkAllocateMemory(c->dev, &ai, NULL, &m));
  return m;
}

struct buffer {
  VkBuffer buf;
  VkDeviceMemory mem;
  VkDeviceSize size;
  void *map; /* non-NULL for host-visible buffers: mapped whole */
};

#define HOST_MEM (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)

/* A buffer with its own memory; mapped when `want` includes HOST_VISIBLE. */
static struct buffer buffer_new(struct ctx *c, VkDeviceSize size, VkBufferUsageFlags usage,
                                VkMemoryPropertyFlags want) {
  struct buffer b = {.size = size};
  VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                            .size = size,
                            .usage = usage,
                            .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  CHECK(vkCreateBuffer(c->dev, &bci, NULL, &b.buf));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(c->dev, b.buf, &req);
  b.mem = alloc_memory(c, req, want);
  CHECK(vkBindBufferMemory(c->dev, b.buf, b.mem, 0));
  if (want & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
    CHECK(vkMapMemory(c->dev, b.mem, 0, VK_WHOLE_SIZE, 0, &b.map));
  return b;
}

static void buffer_free(struct ctx *c, struct buffer *b) {
  vkDestroyBuffer(c->dev, b->buf, NULL);
  vkFreeMemory(c->dev, b->mem, NULL); /* unmaps implicitly */
}

struct image {
  VkImage img;
  VkDeviceMemory mem;
  VkImageView view;
};

static struct image image_new(struct ctx *c, uint32_t w, uint32_t h, VkFormat format,
                              VkImageUsageFlags usage, VkImageAspectFlags aspect) {
  struct image im;
  VkImageCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
                           .imageType = VK_IMAGE_TYPE_2D,
                           .format = format,
                           .extent = {w, h, 1},
                           .mipLevels = 1,
                           .arrayLayers = 1,
                           .samples = VK_SAMPLE_COUNT_1_BIT,
                           .tiling = VK_IMAGE_TILING_OPTIMAL,
                           .usage = usage,
                           .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED};
  CHECK(vkCreateImage(c->dev, &ici, NULL, &im.img));
  VkMemoryRequirements req;
  vkGetImageMemoryRequirements(c->dev, im.img, &req);
  im.mem = alloc_memory(c, req, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  CHECK(vkBindImageMemory(c->dev, im.img, im.mem, 0));
  VkImageViewCreateInfo vci = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
                               .image = im.img,
                               .viewType = VK_IMAGE_VIEW_TYPE_2D,
                               .format = format,
                               .subresourceRange = {aspect, 0, 1, 0, 1}};
  CHECK(vkCreateImageView(c->dev, &vci, NULL, &im.view));
  return im;
}

static void image_free(struct ctx *c, struct image *im) {
  vkDestroyImageView(c->dev, im->view, NULL);
  vkDestroyImage(c->dev, im->img, NULL);
  vkFreeMemory(c->dev, im->mem, NULL);
}

/* A layout transition with a full memory dependency between the given stages. */
static void image_barrier(VkCommandBuffer cmd, VkImage img, VkImageAspectFlags aspect,
                          VkImageLayout from, VkImageLayout to, VkPipelineStageFlags src,
                          VkAccessFlags src_access, VkPipelineStageFlags dst,
                          VkAccessFlags dst_access) {
  VkImageMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
                            .srcAccessMask = src_access,
                            .dstAccessMask = dst_access,
                            .oldLayout = from,
                            .newLayout = to,
                            .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                            .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                            .image = img,
                            .subresourceRange = {aspect, 0, 1, 0, 1}};
  vkCmdPipelineBarrier(cmd, src, dst, 0, 0, NULL, 0, NULL, 1, &b);
}

/* A global memory barrier, e.g. transfer writes -> host reads. */
static void memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src, VkAccessFlags src_access,
                           VkPipelineStageFlags dst, VkAccessFlags dst_access) {
  VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                       .srcAccessMask = src_access,
                       .dstAccessMask = dst_access};
  vkCmdPipelineBarrier(cmd, src, dst, 0, 1, &b, 0, NULL, 0, NULL);
}

static VkCommandBuffer cmd_alloc(struct ctx *c, VkCommandBufferLevel level) {
  VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                    .commandPool = c->pool,
                                    .level = level,
                                    .commandBufferCount = 1};
  VkCommandBuffer cmd;
  CHECK(vkAllocateCommandBuffers(c->dev, &ai, &cmd));
  return cmd;
}

/* A primary command buffer in the recording state (one-time submit). */
static VkCommandBuffer cmd_begin(struct ctx *c) {
  VkCommandBuffer cmd = cmd_alloc(c, VK_COMMAND_BUFFER_LEVEL_PRIMARY);
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  CHECK(vkBeginCommandBuffer(cmd, &bi));
  return cmd;
}

static VkFence fence_new(struct ctx *c, int signaled) {
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
                           .flags = signaled ? VK_FENCE_CREATE_SIGNALED_BIT : 0};
  VkFence f;
  CHECK(vkCreateFence(c->dev, &fci, NULL, &f));
  return f;
}

#define SECOND 1000000000ull

/* Submits one command buffer and waits for it on a fence (5 s at most). */
static void submit_wait(struct ctx *c, VkCommandBuffer cmd) {
  VkFence f = fence_new(c, 0);
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &cmd};
  CHECK(vkQueueSubmit(c->queue, 1, &si, f));
  CHECK(vkWaitForFences(c->dev, 1, &f, VK_TRUE, 5 * SECOND));
  vkDestroyFence(c->dev, f, NULL);
}

/* Ends, submits, waits for and frees a command buffer from cmd_begin. */
static void cmd_finish(struct ctx *c, VkCommandBuffer cmd) {
  CHECK(vkEndCommandBuffer(cmd));
  submit_wait(c, cmd);
  vkFreeCommandBuffers(c->dev, c->pool, 1, &cmd);
}

static VkShaderModule shader_new(struct ctx *c, const uint32_t *code, size_t size) {
  VkShaderModuleCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                  .codeSize = size,
                                  .pCode = code};
  VkShaderModule m;
  CHECK(vkCreateShaderModule(c->dev, &sci, NULL, &m));
  return m;
}
#define SHADER(c, arr) shader_new((c), (arr), sizeof(arr))

/* One color attachment (cleared, then left in TRANSFER_SRC_OPTIMAL) and an
 * optional depth attachment (cleared, not stored). */
static VkRenderPass render_pass_new(struct ctx *c, VkFormat color, VkFormat depth) {
  VkAttachmentDescription att[2] = {
      {.format = color,
       .samples = VK_SAMPLE_COUNT_1_BIT,
       .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
       .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
       .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
       .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
       .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
       .finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL},
      {.format = depth,
       .samples = VK_SAMPLE_COUNT_1_BIT,
       .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
       .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
       .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
       .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
       .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
       .finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL},
  };
  VkAttachmentReference cref = {0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
  VkAttachmentReference dref = {1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL};
  int has_depth = depth != VK_FORMAT_UNDEFINED;
  VkSubpassDescription sub = {.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS,
                              .colorAttachmentCount = 1,
                              .pColorAttachments = &cref,
                              .pDepthStencilAttachment = has_depth ? &dref : NULL};
  /* the copy after the pass reads what the pass wrote */
  VkSubpassDependency dep = {.srcSubpass = 0,
                             .dstSubpass = VK_SUBPASS_EXTERNAL,
                             .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                             .dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT,
                             .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT};
  VkRenderPassCreateInfo rci = {.sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
                                .attachmentCount = has_depth ? 2 : 1,
                                .pAttachments = att,
                                .subpassCount = 1,
                                .pSubpasses = &sub,
                                .dependencyCount = 1,
                                .pDependencies = &dep};
  VkRenderPass rp;
  CHECK(vkCreateRenderPass(c->dev, &rci, NULL, &rp));
  return rp;
}

static VkFramebuffer framebuffer_new(struct ctx *c, VkRenderPass rp, uint32_t w, uint32_t h,
                                     VkImageView color, VkImageView depth) {
  VkImageView views[2] = {color, depth};
  VkFramebufferCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
                                 .renderPass = rp,
                                 .attachmentCount = depth ? 2 : 1,
                                 .pAttachments = views,
                                 .width = w,
                                 .height = h,
                                 .layers = 1};
  VkFramebuffer fb;
  CHECK(vkCreateFramebuffer(c->dev, &fci, NULL, &fb));
  return fb;
}

/* Vertices of the graphics workloads: position (x, y, z) and color (r, g, b). */
struct vertex {
  float pos[3];
  float color[3];
};

/* A triangle-list pipeline over struct vertex, fixed w x h viewport, no
 * blending, depth test LESS when `depth` is set, empty pipeline layout. */
static VkPipeline pipeline_new(struct ctx *c, VkRenderPass rp, VkPipelineLayout layout,
                               VkShaderModule vs, VkShaderModule fs, uint32_t w, uint32_t h,
                               int depth) {
  VkPipelineShaderStageCreateInfo stages[2] = {
      {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
       .stage = VK_SHADER_STAGE_VERTEX_BIT,
       .module = vs,
       .pName = "main"},
      {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
       .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
       .module = fs,
       .pName = "main"},
  };
  VkVertexInputBindingDescription bind = {0, sizeof(struct vertex), VK_VERTEX_INPUT_RATE_VERTEX};
  VkVertexInputAttributeDescription attrs[2] = {
      {0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},
      {1, 0, VK_FORMAT_R32G32B32_SFLOAT, 3 * sizeof(float)},
  };
  VkPipelineVertexInputStateCreateInfo vi = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
      .vertexBindingDescriptionCount = 1,
      .pVertexBindingDescriptions = &bind,
      .vertexAttributeDescriptionCount = 2,
      .pVertexAttributeDescriptions = attrs};
  VkPipelineInputAssemblyStateCreateInfo ia = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
      .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST};
  VkViewport viewport = {0, 0, (float)w, (float)h, 0, 1};
  VkRect2D scissor = {{0, 0}, {w, h}};
  VkPipelineViewportStateCreateInfo vp = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
      .viewportCount = 1,
      .pViewports = &viewport,
      .scissorCount = 1,
      .pScissors = &scissor};
  VkPipelineRasterizationStateCreateInfo rs = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
      .polygonMode = VK_POLYGON_MODE_FILL,
      .cullMode = VK_CULL_MODE_NONE,
      .frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE,
      .lineWidth = 1};
  VkPipelineMultisampleStateCreateInfo ms = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
      .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT};
  VkPipelineDepthStencilStateCreateInfo ds = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO,
      .depthTestEnable = depth ? VK_TRUE : VK_FALSE,
      .depthWriteEnable = depth ? VK_TRUE : VK_FALSE,
      .depthCompareOp = VK_COMPARE_OP_LESS};
  VkPipelineColorBlendAttachmentState blend = {.colorWriteMask = 0xf};
  VkPipelineColorBlendStateCreateInfo cb = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
      .attachmentCount = 1,
      .pAttachments = &blend};
  VkGraphicsPipelineCreateInfo gci = {.sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
                                      .stageCount = 2,
                                      .pStages = stages,
                                      .pVertexInputState = &vi,
                                      .pInputAssemblyState = &ia,
                                      .pViewportState = &vp,
                                      .pRasterizationState = &rs,
                                      .pMultisampleState = &ms,
                                      .pDepthStencilState = &ds,
                                      .pColorBlendState = &cb,
                                      .layout = layout,
                                      .renderPass = rp};
  VkPipeline p;
  CHECK(vkCreateGraphicsPipelines(c->dev, VK_NULL_HANDLE, 1, &gci, NULL, &p));
  return p;
}

static VkPipelineLayout layout_new(struct ctx *c, const VkDescriptorSetLayout *set,
                                   uint32_t push_bytes, VkShaderStageFlags push_stages) {
  VkPushConstantRange range = {push_stages, 0, push_bytes};
  VkPipelineLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                    .setLayoutCount = set ? 1 : 0,
                                    .pSetLayouts = set,
                                    .pushConstantRangeCount = push_bytes ? 1 : 0,
                                    .pPushConstantRanges = &range};
  VkPipelineLayout l;
  CHECK(vkCreatePipelineLayout(c->dev, &lci, NULL, &l));
  return l;
}

static VkPipeline compute_pipeline_new(struct ctx *c, VkPipelineLayout layout, VkShaderModule cs) {
  VkComputePipelineCreateInfo cci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = cs,
                .pName = "main"},
      .layout = layout};
  VkPipeline p;
  CHECK(vkCreateComputePipelines(c->dev, VK_NULL_HANDLE, 1, &cci, NULL, &p));
  return p;
}

/* Copies a whole color image (in TRANSFER_SRC_OPTIMAL) into a tightly packed buffer. */
static void copy_image_to_buffer(VkCommandBuffer cmd, VkImage img, uint32_t w, uint32_t h,
                                 VkBuffer dst) {
  VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                              .imageExtent = {w, h, 1}};
  vkCmdCopyImageToBuffer(cmd, img, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, dst, 1, &region);
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
}

/* 32-bit FNV-1a: the checksum in result lines. */
static uint32_t fnv1a(const void *data, size_t n) {
  const uint8_t *p = data;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* Makes the device's writes visible to the host, for non-coherent memory too. */
static void invalidate(struct ctx *c, VkDeviceMemory m) {
  VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                           .memory = m,
                           .size = VK_WHOLE_SIZE};
  CHECK(vkInvalidateMappedMemoryRanges(c->dev, 1, &r));
}

static void flush(struct ctx *c, VkDeviceMemory m) {
  VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                           .memory = m,
                           .size = VK_WHOLE_SIZE};
  CHECK(vkFlushMappedMemoryRanges(c->dev, 1, &r));
}

#endif
