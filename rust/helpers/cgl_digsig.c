// SPDX-License-Identifier: GPL-2.0

#include <crypto/sha2.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/iversion.h>
#include <linux/mm.h>

void rust_helper_sha256_init(struct sha256_state *sctx)
{
	sha256_init(sctx);
}

u64 rust_helper_inode_query_iversion(struct inode *inode)
{
	return inode_query_iversion(inode);
}

struct inode *rust_helper_file_inode(const struct file *f)
{
	return file_inode(f);
}

loff_t rust_helper_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

/*
 * Whether any VMA maps @mapping with VM_EXEC: the loop is the
 * vma_interval_tree_foreach() macro, so it cannot be called from Rust.
 * Takes i_mmap_rwsem for reading; may sleep.
 */
bool rust_helper_mapping_exec_mapped(struct address_space *mapping)
{
	struct vm_area_struct *vma;
	bool found = false;

	if (!mapping_mapped(mapping))
		return false;
	i_mmap_lock_read(mapping);
	vma_interval_tree_foreach(vma, &mapping->i_mmap, 0, ULONG_MAX) {
		if (vma->vm_flags & VM_EXEC) {
			found = true;
			break;
		}
	}
	i_mmap_unlock_read(mapping);
	return found;
}

const struct cred *rust_helper_current_cred(void)
{
	return current_cred();
}
