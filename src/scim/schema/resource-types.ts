import type { ResourceTypeDef, ResourceTypeName } from '../../core/attribute.js';
import { enterpriseUserSchema } from './enterprise-user-schema.js';
import { groupSchema } from './group-schema.js';
import { userSchema } from './user-schema.js';

export const userResourceType: ResourceTypeDef = {
  name: 'User',
  endpoint: '/Users',
  description: 'User Account',
  schema: userSchema,
  extensions: [{ schema: enterpriseUserSchema, required: false }],
};

export const groupResourceType: ResourceTypeDef = {
  name: 'Group',
  endpoint: '/Groups',
  description: 'Group',
  schema: groupSchema,
  extensions: [],
};

export const RESOURCE_TYPES: Readonly<Record<ResourceTypeName, ResourceTypeDef>> = {
  User: userResourceType,
  Group: groupResourceType,
};

export const ALL_SCHEMAS = [userSchema, enterpriseUserSchema, groupSchema] as const;
