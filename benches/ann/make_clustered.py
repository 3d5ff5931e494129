"""A clustered 384-d set (the shape of all-MiniLM-L6-v2 text embeddings: 1,000 centres, noise around
them), unit vectors, with exact cosine ground truth, in benches/ann.sh's fvecs/ivecs layout:

  tools/.venv-bench/bin/python benches/ann/make_clustered.py DIR [N]     (default N 100000; seed 7)
"""
import numpy as np, os, sys
rng=np.random.default_rng(7)
d=sys.argv[1]; os.makedirs(d,exist_ok=True)
n=int(sys.argv[2]) if len(sys.argv) > 2 else 100000
def w(path, a):
    m,dim=a.shape
    out=np.empty((m,dim+1),dtype=np.int32)
    out[:,0]=dim
    out[:,1:]=a.astype(np.float32).view(np.int32)
    out.tofile(path)
c=rng.standard_normal((1000,384)).astype(np.float32)
x=c[rng.integers(0,1000,n)]+0.6*rng.standard_normal((n,384)).astype(np.float32)
x/=np.linalg.norm(x,axis=1,keepdims=True)
q=c[rng.integers(0,1000,500)]+0.6*rng.standard_normal((500,384)).astype(np.float32)
q/=np.linalg.norm(q,axis=1,keepdims=True)
gt=np.argsort(-(q@x.T),axis=1)[:,:100].astype(np.int32)
w(d+'/base.fvecs',x); w(d+'/query.fvecs',q)
out=np.empty((500,101),dtype=np.int32); out[:,0]=100; out[:,1:]=gt; out.tofile(d+'/groundtruth_cosine.ivecs')
print("ok")
