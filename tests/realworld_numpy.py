"""The programs of examples/realworld/ written again in numpy, from the same mathematics.

They are the second, independent reference of tests/test_realworld.py (the first is
finite differences of the C++ primal): a value that agrees here was computed twice, in
two languages, by code that shares nothing.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp, multigammaln


def gmm_objective(d, k, n, alphas, means, icf, x, gamma, m):
    icf = icf.reshape(k, d * (d + 1) // 2)
    means = means.reshape(k, d)
    x = x.reshape(n, d)
    logdiag = icf[:, :d]
    q = np.zeros((k, d, d))
    rows, cols = [], []
    for j in range(d):
        for i in range(j + 1, d):
            rows.append(i)
            cols.append(j)
    for ik in range(k):
        q[ik][np.diag_indices(d)] = np.exp(logdiag[ik])
        q[ik][rows, cols] = icf[ik, d:]
    xc = x[:, None, :] - means[None, :, :]
    qxc = np.einsum("kij,nkj->nki", q, xc)
    main = alphas[None, :] + logdiag.sum(1)[None, :] - 0.5 * (qxc**2).sum(-1)
    n_dof = m + d + 1
    frob = (np.exp(logdiag) ** 2).sum(1) + (icf[:, d:] ** 2).sum(1)
    c = n_dof * d * (math.log(gamma) - 0.5 * math.log(2.0)) - multigammaln(0.5 * n_dof, d)
    penalty = (0.5 * gamma * gamma * frob - m * logdiag.sum(1)).sum() - k * c
    return (
        0.5 * n * d * math.log(2 * math.pi) - logsumexp(main, axis=1).sum() + n * logsumexp(alphas) + penalty
    )


def rodrigues(rot, X):
    theta = np.linalg.norm(rot)
    if theta * theta <= 1e-16:
        return X + np.cross(rot, X)
    w = rot / theta
    return X * math.cos(theta) + np.cross(w, X) * math.sin(theta) + w * (w @ X) * (1 - math.cos(theta))


def reprojection_error(cam, X, w, feat):
    xcam = rodrigues(cam[0:3], X - cam[3:6])
    p = xcam[:2] / xcam[2]
    rsq = p @ p
    p = p * (1 + cam[9] * rsq + cam[10] * rsq * rsq)
    return w[0] * (p * cam[6] + cam[7:9] - feat)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_objective(l, c, b, main_params, extra_params, state, sequence):
    w = main_params.reshape(l, 2, 4, b)
    w2 = extra_params.reshape(3, b)
    s = state.reshape(l, 2, b).copy()
    seq = sequence.reshape(c, b)
    total = 0.0
    for t in range(c - 1):
        x = seq[t] * w2[0]
        for layer in range(l):
            weight, bias = w[layer]
            hidden, cell = s[layer]
            forget = sigmoid(x * weight[0] + bias[0])
            ingate = sigmoid(hidden * weight[1] + bias[1])
            outgate = sigmoid(x * weight[2] + bias[2])
            change = np.tanh(hidden * weight[3] + bias[3])
            cell = cell * forget + ingate * change
            hidden = outgate * np.tanh(cell)
            s[layer] = hidden, cell
            x = hidden
        ypred = x * w2[1] + w2[2]
        total += seq[t + 1] @ (ypred - logsumexp(ypred))
    return -total / ((c - 1) * b)


def axis_rotation(axis, t):
    m = np.zeros((3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    m[axis, axis] = 1
    m[i, i], m[i, j], m[j, i], m[j, j] = math.cos(t), -math.sin(t), math.sin(t), math.cos(t)
    return m


def hand_objective(nbones, nverts, parents, offsets, joints, rest, weights, observed, theta):
    offsets = offsets.reshape(nbones, 3)
    joints = joints.reshape(nbones, 3)
    rest = rest.reshape(nverts, 3)
    weights = weights.reshape(nverts, nbones)
    rots, trans = [], []
    for j in range(nbones):
        a = theta[3 * j : 3 * j + 3]
        r = axis_rotation(2, a[2]) @ axis_rotation(1, a[1]) @ axis_rotation(0, a[0])
        t = offsets[j].copy()
        if parents[j] < 0:
            rots.append(r)
            trans.append(t + theta[3 * nbones : 3 * nbones + 3])
        else:
            p = parents[j]
            rots.append(rots[p] @ r)
            trans.append(rots[p] @ t + trans[p])
    posed = np.zeros((nverts, 3))
    for i in range(nverts):
        for j in range(nbones):
            posed[i] += weights[i, j] * (rots[j] @ (rest[i] - joints[j]) + trans[j])
    return (posed - observed.reshape(nverts, 3)).ravel()


def least_squares(m, n, A, b, x):
    r = A.reshape(m, n) @ x - b
    return 0.5 * r @ r


def kmeans_cost(n, k, d, points, centers):
    p = points.reshape(n, d)
    c = centers.reshape(k, d)
    return ((p[:, None, :] - c[None, :, :]) ** 2).sum(-1).min(1).sum()


def lotka_volterra_rk4(params, y0, h, steps, target):
    alpha, beta, delta, gamma = params

    def f(y):
        return np.array([alpha * y[0] - beta * y[0] * y[1], delta * y[0] * y[1] - gamma * y[1]])

    y = np.array(y0, dtype=float)
    for _ in range(steps):
        k1 = f(y)
        k2 = f(y + 0.5 * h * k1)
        k3 = f(y + 0.5 * h * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return ((y - target) ** 2).sum()


def particles(n, xy0, v0, mass, dt, steps, g=1.0, eps=0.1):
    pos = xy0.reshape(n, 2).copy()
    vel = v0.reshape(n, 2).copy()
    for _ in range(steps):
        d = pos[None, :, :] - pos[:, None, :]  # d[i, j] = pos[j] - pos[i]
        r2 = (d**2).sum(-1) + eps * eps
        coef = g * mass[None, :] / (r2 * np.sqrt(r2))
        np.fill_diagonal(coef, 0.0)
        acc = (d * coef[:, :, None]).sum(1)
        vel = vel + acc * dt
        pos = pos + vel * dt
    e = 0.5 * (mass * (vel**2).sum(1)).sum()
    for i in range(n):
        for j in range(i + 1, n):
            e -= g * mass[i] * mass[j] / math.sqrt(((pos[i] - pos[j]) ** 2).sum() + eps * eps)
    return e
