// A hand-tracking style skinning residual. A skeleton of bones, each with a parent
// (parents[j] < j, -1 for the root) and a rest offset from its parent, is posed by
// three Euler angles per bone plus a global translation. Every vertex moves with the
// bones it is attached to (linear blend skinning), and the residual is the distance
// of each posed vertex to its observed position.
//
// theta[3*nbones + 3]: the angles of each bone (about x, then y, then z), then the
//                      global translation.
#include <vector>

#include "matrix.hpp"

template <typename T>
rw::Mat3<T> euler_rotation(const T* angles) {
    return rw::Mat3<T>::axis_rotation(2, angles[2]) * rw::Mat3<T>::axis_rotation(1, angles[1]) *
           rw::Mat3<T>::axis_rotation(0, angles[0]);
}

// The world transform of every bone, parents before children.
template <typename T>
std::vector<rw::Rigid<T>> pose_bones(int nbones, const int* parents, const double* offsets, const T* theta) {
    std::vector<rw::Rigid<T>> world;
    for (int j = 0; j < nbones; ++j) {
        rw::Vec3<T> offset{T(offsets[3 * j]), T(offsets[3 * j + 1]), T(offsets[3 * j + 2])};
        rw::Rigid<T> local{euler_rotation(&theta[3 * j]), offset};
        if (parents[j] < 0) {
            local.t = local.t + rw::Vec3<T>{theta[3 * nbones], theta[3 * nbones + 1], theta[3 * nbones + 2]};
            world.push_back(local);
        } else {
            world.push_back(world[parents[j]].compose(local));
        }
    }
    return world;
}

// err[3*nverts]: posed minus observed vertex positions. rest[3*nverts] are the vertices
// in the rest pose, each expressed relative to every bone by subtracting the bone's rest
// position joints[3*j..]; weights[nverts*nbones] are the skinning weights.
template <typename T>
void hand_objective(int nbones, int nverts, const int* parents, const double* offsets, const double* joints,
                    const double* rest, const double* weights, const double* observed, const T* theta, T* err) {
    std::vector<rw::Rigid<T>> world = pose_bones(nbones, parents, offsets, theta);
    for (int i = 0; i < nverts; ++i) {
        rw::Vec3<T> posed{T(0), T(0), T(0)};
        for (int j = 0; j < nbones; ++j) {
            double w = weights[i * nbones + j];
            if (w == 0) {
                continue;
            }
            rw::Vec3<T> local{T(rest[3 * i] - joints[3 * j]), T(rest[3 * i + 1] - joints[3 * j + 1]),
                              T(rest[3 * i + 2] - joints[3 * j + 2])};
            posed = posed + world[j].apply(local) * T(w);
        }
        err[3 * i] = posed.x - observed[3 * i];
        err[3 * i + 1] = posed.y - observed[3 * i + 1];
        err[3 * i + 2] = posed.z - observed[3 * i + 2];
    }
}
