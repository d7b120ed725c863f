/*
 * Helpers of the robustness programs (tests/robustness_test.ts): one
 * instance, device and queue; failures print "FAIL: ..." and exit 1.
 */
#ifndef ROBUSTNESS_RB_H
#define ROBUSTNESS_RB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#define FAIL(...)                                      \
  do {                                                 \
    fprintf(stderr, "FAIL: " __VA_ARGS__);             \
    fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__); \
    exit(1);                                           \
  } while (0)

#define CHECK(call)                                          \
  do {                                                       \
    VkResult r_ = (call);                                    \
    if (r_ != VK_SUCCESS) FAIL("%s returned %d", #call, r_); \
  } while (0)

#define SECOND 1000000000ull
#define HOST_MEM (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)

struct rb {
  VkInstance instance;
  VkPhysicalDevice phys;
  VkPhysicalDeviceMemoryProperties mem;
  VkDevice dev;
  uint32_t family;
  VkQueue queue;
};

static void rb_instance(struct rb *c, const char *name) {
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                           .pApplicationName = name,
                           .apiVersion = VK_API_VERSION_1_1};
  VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                              .pApplicationInfo = &app};
  CHECK(vkCreateInstance(&ici, NULL, &c->instance));
  uint32_t n = 1;
  VkResult r = vkEnumeratePhysicalDevices(c->instance, &n, &c->phys);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || n != 1) FAIL("no physical device");
  vkGetPhysicalDeviceMemoryProperties(c->phys, &c->mem);
  VkQueueFamilyProperties fams[16];
  uint32_t nf = 16;
  vkGetPhysicalDeviceQueueFamilyProperties(c->phys, &nf, fams);
  c->family = UINT32_MAX;
  for (uint32_t i = 0; i < nf && c->family == UINT32_MAX; i++)
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) c->family = i;
  if (c->family == UINT32_MAX) FAIL("no compute queue family");
}

static void rb_device(struct rb *c) {
  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                 .queueFamilyIndex = c->family,
                                 .queueCount = 1,
                                 .pQueuePriorities = &prio};
  VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                            .queueCreateInfoCount = 1,
                            .pQueueCreateInfos = &qci};
  CHECK(vkCreateDevice(c->phys, &dci, NULL, &c->dev));
  vkGetDeviceQueue(c->dev, c->family, 0, &c->queue);
}

static void rb_init(struct rb *c, const char *name) {
  memset(c, 0, sizeof(*c));
  rb_instance(c, name);
  rb_device(c);
}

static void rb_fini(struct rb *c) {
  vkDeviceWaitIdle(c->dev);
  vkDestroyDevice(c->dev, NULL);
  vkDestroyInstance(c->instance, NULL);
}

static uint32_t rb_memory_type(struct rb *c, uint32_t bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < c->mem.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (c->mem.memoryTypes[i].propertyFlags & want) == want) return i;
  FAIL("no memory type with flags 0x%x in 0x%x", want, bits);
}

#endif
